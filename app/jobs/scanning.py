"""The virus check of a supporting document, as a task: asked for by app/services/documents.py once
an upload commits. ScannerError (clamd down) makes the queue try again, waiting longer each time."""

from app.jobs import job
from app.services import scanning


@job(retries=8, retry_delay=10, retry_backoff=2)
def scan_document(attachment_id: int) -> None:
    scanning.scan_document(attachment_id)
