"""A job worker whose exports stop for good while the file is being made (its render never returns),
for the test of a worker killed part way through an export (tests/test_jobs.py). It writes the file
named on its command line when it gets there, so the test knows when to kill it.

    python tests/stuck_worker.py MARKER_FILE
"""

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.jobs import run_worker  # noqa: E402
from app.services import exports  # noqa: E402

marker = Path(sys.argv[1])


def stuck(content, key):
    marker.write_text("making the file")
    threading.Event().wait()  # never returns: the test kills this process


exports.render = stuck
app = create_app()
run_worker(app, 1, periodic_jobs=False)
