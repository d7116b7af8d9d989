"""Operations: /readyz for the load balancer and /metrics for Prometheus. Neither signs anyone in,
sets a cookie or is rate limited (app/__init__.py skips loading the user for OPS_ENDPOINTS)."""

from flask import Blueprint

bp = Blueprint("ops", __name__)
OPS_ENDPOINTS = frozenset({"main.healthz", "ops.readyz", "ops.metrics"})

from app.ops import routes  # noqa: E402,F401
