"""The email outbox: queue_email() writes a row inside the caller's transaction;
deliver_due() is the worker that sends rows by SMTP, with retries and backoff.

Safe with several workers at once: each row is claimed with a conditional UPDATE before it is
sent, so only one worker sends it. Nothing is sent from a request thread.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import smtplib
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app, has_request_context, render_template
from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import OutboxEmail, OutboxStatus
from app.models.base import utcnow
from app.services import insert_for_dialect

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)


def render_email(template: str, **context) -> tuple[str, str, str]:
    """Render templates/email/<template>.txt and .html; the subject is the text's first line.

    Works inside a request and outside one (CLI, scheduler): links are made absolute with BASE_URL.
    """
    if not has_request_context():
        with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
            return render_email(template, **context)
    context.setdefault("service_name", current_app.config["SERVICE_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"])
    context.setdefault("help_email", current_app.config["HELP_EMAIL"])
    text = render_template(f"email/{template}.txt", **context)
    subject, _, body = text.partition("\n")
    subject = subject.removeprefix("Subject:").strip()
    html = render_template(f"email/{template}.html", subject=subject, **context)
    return subject, body.lstrip("\n"), html


def queue_email(
    to: str,
    template: str,
    idempotency_key: str,
    lead_bidder_id: int | None = None,
    **context,
) -> bool:
    """Queue one email in the current transaction. Returns False if the key was already used.

    The insert is a no-op on a duplicate key (ON CONFLICT DO NOTHING), so the same cause can
    never queue the same email twice, even from two processes at once.
    """
    subject, text, html = render_email(template, **context)
    values = {
        "idempotency_key": idempotency_key,
        "lead_bidder_id": lead_bidder_id,
        "to_address": to,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "template": template,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": utcnow(),
        "next_attempt_at": utcnow(),
    }
    insert = insert_for_dialect()
    stmt = (
        insert(OutboxEmail)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxEmail.id)
    )
    return db.session.execute(stmt).first() is not None


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after each failed attempt, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(now: datetime, worker: str, limit: int) -> list[OutboxEmail]:
    due_ids = db.session.scalars(
        select(OutboxEmail.id)
        .where(
            OutboxEmail.status == OutboxStatus.PENDING,
            OutboxEmail.next_attempt_at <= now,
            or_(OutboxEmail.claimed_until.is_(None), OutboxEmail.claimed_until < now),
        )
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    ).all()
    claimed = []
    for row_id in due_ids:
        result = db.session.execute(
            update(OutboxEmail)
            .where(
                OutboxEmail.id == row_id,
                OutboxEmail.status == OutboxStatus.PENDING,
                or_(OutboxEmail.claimed_until.is_(None), OutboxEmail.claimed_until < now),
            )
            .values(claimed_until=now + LEASE, claimed_by=worker)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(row_id)
    db.session.commit()
    if not claimed:
        return []
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(claimed)).order_by(OutboxEmail.id)))


def build_message(row: OutboxEmail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    msg["X-Partnership-Bid-Key"] = row.idempotency_key
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    return msg


class _Transport:
    """SMTP or console delivery, opened once per batch."""

    def __init__(self):
        cfg = current_app.config
        self.backend = cfg["MAIL_BACKEND"]
        self.smtp: smtplib.SMTP | None = None
        if self.backend == "console":
            return
        if self.backend != "smtp":
            raise RuntimeError(f"MAIL_BACKEND must be smtp or console, not {self.backend!r}")
        cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
        self.smtp = cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
        if cfg["MAIL_USE_TLS"]:
            self.smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            self.smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")

    def send(self, msg: EmailMessage) -> None:
        if self.smtp is None:
            out = sys.stdout
            out.write("\n" + "=" * 72 + "\n" + msg.get_body(("plain",)).get_content().rstrip() + "\n")
            out.write(f"(email to {msg['To']}: {msg['Subject']})\n" + "=" * 72 + "\n")
            out.flush()
            return
        self.smtp.send_message(msg)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def deliver_due(now: datetime | None = None, limit: int | None = None) -> DeliveryReport:
    """Send every due pending email once. Commits after each row."""
    now = now or utcnow()
    cfg = current_app.config
    limit = limit or cfg["OUTBOX_BATCH_SIZE"]
    worker = f"{socket.gethostname()}-{secrets.token_hex(4)}"
    report = DeliveryReport()
    rows = _claim(now, worker, limit)
    if not rows:
        return report

    try:
        transport = _Transport()
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            _record_failure(row, exc, now, report, permanent=False)
        db.session.commit()
        return report

    try:
        for row in rows:
            try:
                transport.send(build_message(row))
            except (OSError, smtplib.SMTPException) as exc:
                _record_failure(row, exc, now, report, permanent=_is_permanent(exc))
                if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)) and not isinstance(
                    exc, smtplib.SMTPResponseException
                ):
                    # The connection is gone: the rest of the batch waits for the next run.
                    db.session.commit()
                    _release(rows[rows.index(row) + 1 :])
                    break
            else:
                row.status = OutboxStatus.SENT
                row.sent_at = utcnow()
                row.attempts += 1
                row.claimed_until = None
                row.last_error = None
                report.sent += 1
            db.session.commit()
    finally:
        transport.close()
    return report


def _release(rows: list[OutboxEmail]) -> None:
    for row in rows:
        row.claimed_until = None
        row.claimed_by = None
    db.session.commit()


def _record_failure(row: OutboxEmail, exc: Exception, now: datetime, report: DeliveryReport, permanent: bool):
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    row.claimed_until = None
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if permanent or row.attempts >= max_attempts:
        row.status = OutboxStatus.FAILED
        report.failed += 1
    else:
        row.next_attempt_at = now + backoff(row.attempts)
        report.retrying += 1
    report.errors.append(row.last_error)
    log.warning("Email %s to %s not delivered: %s", row.id, row.to_address, row.last_error)


def retry_now(row: OutboxEmail) -> None:
    """Put a failed email back in the queue (the admin's 'send again')."""
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = utcnow()
    row.claimed_until = None
