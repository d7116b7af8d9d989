"""The daily summaries of notifications, due from 9am UK time on working days (decided every five
minutes; app/services/digests.py sends each person's once a day)."""

from datetime import timedelta

from app.jobs import periodic


@periodic("notifications.digests", every=timedelta(minutes=5))
def send_daily_summaries() -> str:
    from app.services.digests import send_digests

    return str(send_digests())
