import hmac

from flask import Response, current_app, jsonify, request

from app.extensions import limiter
from app.metrics import scrape
from app.ops import bp
from app.services import health


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready to take traffic: 200 when every check is "ok" or "not used", else 503 naming it."""
    ready, checks = health.readiness()
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    return response


def _has_metrics_token() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
@limiter.exempt
def metrics():
    """Prometheus' scrape: only with METRICS_TOKEN set and sent as a bearer token; otherwise 404
    (the address says nothing about itself to anyone else)."""
    if not _has_metrics_token():
        return Response("Not found\n", status=404, mimetype="text/plain")
    body, content_type = scrape()
    return Response(body, content_type=content_type)
