"""Partnership Bid: one collective funding bid from many partners."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, g, request
from flask_login import current_user
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from app.templating import Environment
from app.urls import DatabaseIdConverter
from config import get_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.jinja_environment = Environment  # before app.jinja_env is first used
    config_class = get_config(config_name)
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.url_map.converters["int"] = DatabaseIdConverter  # before any route: too long an id is a 404
    config_class.check(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A database server that does not answer fails a request (and /readyz) in seconds instead
        # of hanging it: psycopg waits for ever by default.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"],
                                   **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    os.makedirs(app.instance_path, exist_ok=True)
    from app import logs, metrics

    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    logs.init_app(app)  # first: every request has its id before anything else runs
    metrics.init_app(app)

    if app.config["PROXY_FIX_COUNT"]:
        n = app.config["PROXY_FIX_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(Path(app.root_path) / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_context(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from flask_talisman import Talisman

    from app.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from app.models.base import render_item
    from app.models.search import include_name

    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True, render_item=render_item,
        include_name=include_name,
    )
    from app.services import search_index  # noqa: F401 - keeps the search index in step with every flush

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page"
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side rows; see services.sessions
    from app import drafts

    drafts.init_app(app)  # keeps a section's text sent after the session ended; see app/drafts.py
    from app import jobs

    jobs.init_app(app)  # the task queue (JOBS_URL); see app/jobs/__init__.py

    @login_manager.user_loader
    def load_user(token: str):
        from app.services.sessions import load_session_user

        return load_session_user(token)

    force_https = app.config["FORCE_HTTPS"]
    app.extensions["talisman"] = Talisman(
        app,
        force_https=force_https,
        strict_transport_security=force_https,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy={
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "font-src": "'self'",
            "connect-src": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
            "base-uri": "'self'",
            "object-src": "'none'",
        },
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )
    WTFormsHelpers(app)

    from app.ops import OPS_ENDPOINTS

    @app.before_request
    def _load_user_first():
        # Load the signed-in user before the view runs: the loader may commit a touch. Not for the
        # load balancer's and Prometheus' requests (app/ops), which never act for a user.
        if request.endpoint != "static" and request.endpoint not in OPS_ENDPOINTS:
            _ = current_user.is_authenticated

    @app.after_request
    def _no_store(response):
        # Pages hold private data: never cache them (the back button after sign-out shows nothing).
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_blueprints(app: Flask) -> None:
    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.assignments import bp as assignments_bp
    from app.auth import bp as auth_bp
    from app.bid import bp as bid_bp
    from app.calendar import bp as calendar_bp
    from app.contributions import bp as contributions_bp
    from app.deadlines import bp as deadlines_bp
    from app.exports import bp as exports_bp
    from app.main import bp as main_bp
    from app.ops import bp as ops_bp
    from app.reminders import bp as reminders_bp
    from app.review import bp as review_bp
    from app.rounds import bp as rounds_bp
    from app.search import bp as search_bp
    from app.team import bp as team_bp
    from app.whats_new import bp as whats_new_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(team_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(contributions_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(bid_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(deadlines_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(assignments_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(whats_new_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_template_context(app: Flask) -> None:
    from app import filters
    from app.navigation import navigation_for, search_box_for
    from app.urls import absolute_url, page_url

    filters.register(app)
    app.add_template_global(absolute_url, "absolute_url")
    app.add_template_global(page_url, "page_url")
    from app.page_titles import title_context

    app.add_template_global(title_context, "title_context")
    # The rulebook, for templates: {% if can(current_user, "bid.edit", round) %}
    from app.policy import can, lifecycle, why_not

    app.add_template_global(can, "can")
    app.add_template_global(why_not, "why_not")
    app.add_template_global(lifecycle, "lifecycle")
    # The time-out warning (templates/main/_timeout_warning.html): the signed-in session's time left.
    from app.services.sessions import seconds_left

    app.add_template_global(
        lambda: seconds_left(current_user) if current_user.is_authenticated else None, "session_seconds_left"
    )

    @app.context_processor
    def _globals():
        # Context processors run for every template rendered with render_template, and GOV.UK's
        # WTForms widgets render one per form field: the navigation is worked out once per request.
        if "navigation" not in g:
            g.navigation = navigation_for(current_user, request.endpoint)
            g.search_box = search_box_for(current_user)
        return {
            "service_name": app.config["SERVICE_NAME"],
            "service_phase": app.config["SERVICE_PHASE"],
            "help_email": app.config["HELP_EMAIL"],
            "navigation": g.navigation,
            "search_box": g.search_box,
            "csrf_problem": g.get("csrf_problem", False),
        }


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)
