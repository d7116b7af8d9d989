"""The virus check of a supporting document, as a task: asked for by app/services/documents.py once
an upload commits. ScannerError (clamd down) makes the queue try again, waiting longer each time
(10 s, 20 s, … about 40 minutes in all); the document stays "Being checked" meanwhile.

The sweep queues again, every five minutes, the checks of documents still waiting after five minutes
(a task lost with a killed worker, or a queue that could not be reached at the upload). A check is
safe to run twice, so one queued again while the first is still retrying does no harm."""

from datetime import timedelta

from app.jobs import enqueue, job, periodic
from app.services import scanning

SWEEP_EVERY = timedelta(minutes=5)
SWEEP_AFTER = timedelta(minutes=5)  # a check normally finishes within seconds of the upload


@job(retries=8, retry_delay=10, retry_backoff=2)
def scan_document(attachment_id: int) -> None:
    scanning.scan_document(attachment_id)


@periodic("documents.scan_sweep", every=SWEEP_EVERY)
def sweep() -> str:
    from app.models.base import utcnow

    waiting = scanning.documents_awaiting_scan(uploaded_before=utcnow() - SWEEP_AFTER)
    if not scanning.configured():
        return f"No virus scanner is configured: {len(waiting)} documents wait for their check"
    queued = sum(enqueue(scan_document, attachment_id) for attachment_id in waiting)
    return f"{queued} documents queued again for their virus check"
