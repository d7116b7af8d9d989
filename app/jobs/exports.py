"""Making an export's file (queued by app/services/exports.request_export and retry)."""

from app.jobs import job


@job(retries=3, retry_delay=5, retry_backoff=2)
def prepare_export(export_id: int) -> None:
    """A failure while making the file is recorded on the export (failed, with its reason) and is
    not retried; an exception here is the database or the store being unreachable, which is."""
    from app.services import exports

    exports.prepare(export_id)
