"""Delivering the outbox's emails: as soon as a transaction that wrote emails commits, and every
minute for the ones waiting to be tried again. The outbox is the record of what must be sent;
delivery is safe on several workers at once (app/services/outbox.py claims each email)."""

from datetime import timedelta

from app.jobs import job, periodic


@job(retries=0)
def deliver_outbox() -> None:
    from app.services.outbox import deliver_due

    deliver_due()


@periodic("outbox.deliver", every=timedelta(minutes=1))
def deliver_outbox_every_minute() -> str:
    from app.services.outbox import deliver_due

    return str(deliver_due())
