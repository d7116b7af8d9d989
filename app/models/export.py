"""Exports: every file made from the collective bid (or one contribution) is recorded, kept and
can be downloaded again."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.contribution import Contribution
from app.models.round import Round
from app.models.user import User


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class ExportStatus(enum.StrEnum):
    PENDING = "pending"  # asked for; nobody has started making it
    PREPARING = "preparing"  # claimed by a job or command (claimed_at says when, heartbeat_at that it lives)
    READY = "ready"
    FAILED = "failed"
    # The file was removed by the retention rules (app/services/retention.py, file_removed_at says
    # when); the record stays as the history of what was exported.
    REMOVED = "removed"

    @property
    def label(self) -> str:
        return {"pending": "Waiting", "preparing": "Being prepared", "ready": "Ready", "failed": "Failed",
                "removed": "File removed"}[self.value]


class ExportRecord(TenantScoped, db.Model):
    __tablename__ = "export_record"
    __table_args__ = (Index("ix_export_record_round", "round_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"))
    # None: the collective bid. Otherwise: one CSP's contribution.
    contribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("contribution.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(20))  # a key of app.services.exports.FORMATS
    status: Mapped[ExportStatus] = mapped_column(_enum(ExportStatus), default=ExportStatus.PENDING)
    # What was exported: "Draft", "Signed off", "Submitted to the funder" (bid) or the contribution's status.
    content_status: Mapped[str | None] = mapped_column(String(40))
    signed_off: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the exported content (text, budget, outcomes, partners, documents): the same
    # hash means the same version of the bid, whatever the format, time or status at export
    # (the status is content_status, beside it: submitting the bid does not make a new version).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # The bid's fingerprint when its content was read (exports.content.bid_fingerprint): a page
    # that finds the same fingerprint now knows the current content hash without reading it all.
    content_fingerprint: Mapped[str | None] = mapped_column(String(64))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    stored_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    size_bytes: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(20), default="web")  # "web" or "command line"
    error: Mapped[str | None] = mapped_column(Text)
    # What the export has to say besides its file (the funder's form: the sections it could not
    # place and the headings that got no section; app/services/exports/funder_form.py).
    report: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written every few seconds by the job making the file: when it stops (the worker was killed),
    # the export is stale and the recovery job queues it again (app/jobs/exports.py).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)  # how many times a job has started making it
    stage: Mapped[str | None] = mapped_column(String(40))  # what the job is doing now, for the page
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None]
    # When the retention rules removed the file (status "removed"; stored_name is cleared once the
    # file is gone from the storage).
    file_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()
    contribution: Mapped[Contribution | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id

    @property
    def short_hash(self) -> str:
        return (self.content_hash or "")[:12]
