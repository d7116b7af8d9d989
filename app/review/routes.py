from app.review import bp  # noqa: F401  (routes are being built)
