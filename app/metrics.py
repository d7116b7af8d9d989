"""Prometheus metrics (prometheus_client), scraped from /metrics with METRICS_TOKEN.

Per request: a latency histogram by endpoint, method and status class, and the requests in
progress. At scrape time (BacklogCollector, a few aggregate statements, see
app.services.health.backlog): the outbox's backlog and the age of its oldest email, the reminder
lag, the exports waiting and being prepared, when each periodic job last ran, and the queue's
depth. Those come from the database, so any app server
gives the same figures: scrape one (or take the max).

gunicorn runs several worker processes: set PROMETHEUS_MULTIPROC_DIR to an empty folder that
only this service writes (emptied before gunicorn starts; deploy/gunicorn.conf.py tells
prometheus_client when a worker exits). Each worker then writes its figures there and a scrape,
whichever worker answers it, adds them up. Without it (development, one process) the figures are
the process's own.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from app.models.base import utcnow

PREFIX = "partnership_bid"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}  # any other: "other"

REQUEST_LATENCY = Histogram(
    f"{PREFIX}_request_duration_seconds",
    "Time to answer a request, by endpoint, method and status class (2xx, 3xx, 4xx, 5xx).",
    ["endpoint", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_PROGRESS = Gauge(
    f"{PREFIX}_requests_in_progress",
    "Requests being answered now.",
    multiprocess_mode="livesum",
)


class BacklogCollector:
    """The queues' figures, read from the database when scraped (in the scrape's app context)."""

    def collect(self):
        from app.services.health import backlog

        now = utcnow()
        figures = backlog()

        def age(moment) -> float:
            return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0

        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_backlog_emails", "Emails in the outbox not yet sent (pending).",
            value=figures.outbox_pending,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_email_age_seconds",
            "Age of the oldest email not yet sent (0 when none): the worker falling behind.",
            value=age(figures.outbox_oldest_at),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_reminder_lag_seconds",
            "Seconds since the oldest reminder whose email is not yet sent was due (0 when none).",
            value=age(figures.reminder_oldest_due_at),
        )
        exports = GaugeMetricFamily(
            f"{PREFIX}_exports", "Exports waiting to be prepared or being prepared.", labels=["state"]
        )
        exports.add_metric(["waiting"], figures.exports["pending"])
        exports.add_metric(["preparing"], figures.exports["preparing"])
        yield exports
        runs = GaugeMetricFamily(
            f"{PREFIX}_periodic_job_last_run_age_seconds",
            "Seconds since each periodic job last started (on any worker): a stopped scheduler shows here.",
            labels=["job"],
        )
        for name, started in sorted(figures.job_runs.items()):
            runs.add_metric([name], age(started))
        yield runs
        try:
            from app.jobs import queue_depth

            depth = queue_depth()
        except Exception:  # the queue not answering is /readyz's news; the other figures still count
            depth = float("nan")
        yield GaugeMetricFamily(f"{PREFIX}_queue_depth_tasks", "Tasks waiting on the jobs' queue.", value=depth)


class _Collected:
    """A registry's collectors, seen from another registry (a scrape's own)."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def scrape() -> tuple[bytes, str]:
    """The text exposition of every metric: (body, content type)."""
    registry = CollectorRegistry()
    folder = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_Collected(REGISTRY))
    registry.register(BacklogCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app: Flask) -> None:
    @app.before_request
    def _started():
        g.metrics_started = time.perf_counter()
        IN_PROGRESS.inc()

    @app.after_request
    def _observe(response):
        started = g.get("metrics_started")
        if started is not None:
            endpoint = request.endpoint or "unmatched"  # a 404 for an unknown address: one label for all
            method = request.method if request.method in METHODS else "other"
            REQUEST_LATENCY.labels(endpoint, method, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started
            )
        return response

    @app.teardown_request
    def _finished(_exc):
        if g.pop("metrics_started", None) is not None:
            IN_PROGRESS.dec()
