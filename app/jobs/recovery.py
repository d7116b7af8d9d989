"""Every minute: queue again the work whose task was lost (a worker killed mid-task, or a queue
that could not be reached when the work was asked for). The database says what is still to be
done; every task is safe to run twice."""

import logging
from datetime import timedelta

from app.jobs import enqueue, periodic

log = logging.getLogger(__name__)


@periodic("jobs.recover", every=timedelta(minutes=1))
def recover() -> str:
    from app.jobs.exports import prepare_export
    from app.services import exports

    retry_ids, given_up = exports.recover()
    for export_id in retry_ids:
        log.warning("Export %s was not finished by its job: queueing it again", export_id)
        enqueue(prepare_export, export_id)
    for export_id in given_up:
        log.error("Export %s stopped before it finished too many times: marked failed", export_id)
    return f"{len(retry_ids)} exports queued again, {len(given_up)} given up"
