"""Benchmarks: scripts that print numbers (not tests). `make bench` or `python -m benchmarks`."""


def reset_database(app) -> None:
    """Drop everything in the app's database and build the schema with the migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
