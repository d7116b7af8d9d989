"""Runs of periodic jobs: one row per job and period, claimed before the job runs.

Every worker's scheduler queues each periodic job every minute; the first worker to insert the row
for (job, period) runs it and the others find the row there and do nothing. So a job runs once per
period however many workers there are, and the rows say when each job last ran and how it went
(the reminder lag in the metrics is read from them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class JobRun(db.Model):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(20))  # "done" or "failed"
    summary: Mapped[str | None] = mapped_column(Text)
