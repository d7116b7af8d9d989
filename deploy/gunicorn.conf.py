"""gunicorn's settings for Partnership Bid (the Procfile's web process and
deploy/systemd/partnership-bid-web.service). The address comes from the command line (--bind) or
$PORT, the number of workers from WEB_CONCURRENCY (gunicorn reads both itself)."""

import os
import shutil
from pathlib import Path

# The app logs one line per request itself (app/logs.py: with its request id, user and timing).
accesslog = None
errorlog = "-"
# Exports are made by the job worker (app/jobs), so no request takes long; the largest uploads
# (imports of Word drafts and budget sheets) take well under a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# The load balancer keeps connections open between requests.
keepalive = 5


def on_starting(server):
    """prometheus_client's multiprocess mode: start from an empty folder (files left by workers of
    an earlier run would be added to this run's figures)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        if path.exists():
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker's live gauges (requests in progress) stop counting when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
