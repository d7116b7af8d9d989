"""The email outbox: queue_email() writes a row inside the caller's transaction;
deliver_due() is the worker that sends rows by SMTP, with retries and backoff. Nothing is sent
from a request thread.

How a worker sends (`flask outbox send`; safe on several machines at once, e.g. from cron):

- It claims a small batch of due rows (OUTBOX_BATCH_SIZE) with one UPDATE ... RETURNING: each
  row gets `claimed_by` (this run's own id) and a lease, `claimed_until` = now +
  OUTBOX_LEASE_SECONDS. A worker only claims a pending row that nobody holds or whose lease has
  run out (on PostgreSQL it also skips rows another worker is claiming at that moment).
- Just before sending, it takes the next row (or the next OUTBOX_EMAILS_PER_COMMIT rows) for the
  send itself: a conditional UPDATE that succeeds only while this worker still holds the row
  (its `claimed_by`, still pending, lease not run out), and moves the row's lease to now + one
  "send time" per row and one to spare. A send time is SEND_TIMEOUTS times MAIL_TIMEOUT, at
  least a minute: longer than one SMTP send can last, since each of its steps gives up after
  MAIL_TIMEOUT. If the take fails, the worker gives up the rest of its batch (another worker has
  it, or its lease ran out) and claims again. It starts a send only while the row's lease has a
  send time left (otherwise it gives the rest back). So a batch never outlives its claim, and a
  row is never sent while another worker may be sending it.
- When the SMTP server has accepted the row, one UPDATE marks it sent (only while this worker
  still holds it) and, in the same statement, takes the next row; then it commits. A row marked
  sent is never claimed again. Failures are recorded with backoff (1, 2, 4 ... minutes); a
  refused address fails at once.
- One SMTP connection serves the whole run; if it breaks, that row is retried later and the
  worker reconnects for the next one (if the server cannot be reached, the rest wait for the next
  run). A run claims batches until nothing is due.

The guarantee: each email is delivered once. It can be delivered twice only (1) if the worker or
its database connection dies after the SMTP server accepted the email and before the commit that
records it - a window of one UPDATE and its COMMIT, as in the earlier worker, so at most one
email per worker - and then another worker sends it again once its lease has run out; or (2) if
the connection breaks after the server took the message but before its reply arrived, which SMTP
cannot tell apart from a failure, so the email is retried. Both copies have the same Message-ID.
With OUTBOX_EMAILS_PER_COMMIT = N above 1, sent emails are recorded N at a time (fewer commits,
faster where commits are slow) and a worker that dies can leave up to N emails to be sent twice.
The workers' clocks must agree to well within a send time (NTP). An email cancelled while it is
being sent may still go out.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import smtplib
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app, has_request_context
from sqlalchemy import and_, case, literal, or_, select, update

from app.extensions import db
from app.models import OutboxEmail, OutboxStatus
from app.models.base import UTCDateTime, utcnow
from app.services import insert_for_dialect

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
# The longest one send may take, in MAIL_TIMEOUTs (at least MIN_SEND_TIME): one send is a few
# SMTP commands, each of which gives up after MAIL_TIMEOUT.
SEND_TIMEOUTS = 6
MIN_SEND_TIME = timedelta(minutes=1)


def render_email(template: str, **context) -> tuple[str, str, str]:
    """Render templates/email/<template>.txt and .html; the subject is the text's first line.

    Works inside a request and outside one (CLI, scheduler): links are made absolute with BASE_URL.
    An email is not a page: it gets the template globals and filters, and what it is given here,
    but not the pages' context processors (navigation and the like), which would only cost time
    when the reminder scheduler writes a thousand emails.
    """
    if not has_request_context():
        with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
            return render_email(template, **context)
    context.setdefault("service_name", current_app.config["SERVICE_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"])
    context.setdefault("help_email", current_app.config["HELP_EMAIL"])
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(context)
    subject, _, body = text.partition("\n")
    subject = subject.removeprefix("Subject:").strip()
    html = env.get_template(f"email/{template}.html").render(context, subject=subject)
    return subject, body.lstrip("\n"), html


def email_row(
    to: str,
    template: str,
    idempotency_key: str,
    lead_bidder_id: int | None = None,
    **context,
) -> dict:
    """The outbox row of one email (rendered now), for queue_emails()."""
    subject, text, html = render_email(template, **context)
    now = utcnow()
    return {
        "idempotency_key": idempotency_key,
        "lead_bidder_id": lead_bidder_id,
        "to_address": to,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "template": template,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


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
    row = email_row(to, template, idempotency_key, lead_bidder_id, **context)
    stmt = (
        insert_for_dialect()(OutboxEmail)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxEmail.id)
    )
    return db.session.execute(stmt).first() is not None


def queue_emails(rows: list[dict]) -> None:
    """Queue many emails (rows from email_row()) in the current transaction, as queue_email()
    does one: a duplicate key is skipped. One executemany (a few multi-row INSERTs)."""
    if rows:
        table = OutboxEmail.__table__
        stmt = insert_for_dialect()(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
        db.session.execute(stmt, rows)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after each failed attempt, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def claim_lease() -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


def send_time() -> timedelta:
    return max(MIN_SEND_TIME, SEND_TIMEOUTS * timedelta(seconds=current_app.config["MAIL_TIMEOUT"]))


class _Clock:
    """Now: utcnow(), or the `now` a caller gave (tests, catching up) moving on with real time."""

    def __init__(self, start: datetime | None):
        self.start = start
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        if self.start is None:
            return utcnow()
        return self.start + timedelta(seconds=time.monotonic() - self.started)


# What a worker reads of the rows it claims (as transient OutboxEmail objects, not in the session).
_SENDING = (
    OutboxEmail.id,
    OutboxEmail.idempotency_key,
    OutboxEmail.to_address,
    OutboxEmail.subject,
    OutboxEmail.body_text,
    OutboxEmail.body_html,
    OutboxEmail.created_at,
    OutboxEmail.attempts,
)


def _claim(now: datetime, worker: str, limit: int) -> list[OutboxEmail]:
    """Claim up to `limit` due rows for `worker` with one UPDATE, and commit. Returns them oldest
    first, as OutboxEmail objects that are not in the session."""
    due = OutboxEmail.__table__.alias("due")
    candidates = (
        select(due.c.id)
        .where(
            due.c.status == OutboxStatus.PENDING,
            due.c.next_attempt_at <= now,
            or_(due.c.claimed_until.is_(None), due.c.claimed_until < now),
        )
        .order_by(due.c.next_attempt_at, due.c.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Materialized, so the subquery runs once; SKIP LOCKED: two workers take different rows.
        candidates = candidates.with_for_update(skip_locked=True)
    candidates = candidates.cte("candidates").prefix_with("MATERIALIZED", dialect="postgresql")
    result = db.session.execute(
        update(OutboxEmail)
        .where(
            OutboxEmail.id.in_(select(candidates.c.id)),
            # Checked again on the row itself: another worker may have claimed it meanwhile.
            OutboxEmail.status == OutboxStatus.PENDING,
            or_(OutboxEmail.claimed_until.is_(None), OutboxEmail.claimed_until < now),
        )
        .values(claimed_until=now + claim_lease(), claimed_by=worker)
        .returning(*_SENDING)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted((OutboxEmail(**row._mapping) for row in result), key=lambda row: row.id)


def _held_by(worker: str):
    return and_(OutboxEmail.claimed_by == worker, OutboxEmail.status == OutboxStatus.PENDING)


def _sent_and_take(worker: str, now: datetime, sent: list[int], take: list[int], until: datetime) -> set[int]:
    """One UPDATE: mark the rows `sent` as sent, and take the rows `take` for sending until
    `until`, each only while `worker` holds it. Returns the ids it changed. Does not commit."""
    if not sent and not take:
        return set()
    is_sent = OutboxEmail.id.in_(sent)
    rows = []
    if sent:
        rows.append(is_sent)
    if take:
        rows.append(and_(OutboxEmail.id.in_(take), OutboxEmail.claimed_until > now))

    def value(if_sent, if_taken, type_=None):
        """The column's new value: one for the sent rows, another for the taken ones."""
        if not sent:
            return if_taken
        if not take:
            return if_sent
        return case((is_sent, literal(if_sent, type_) if type_ is not None else if_sent), else_=if_taken)

    columns = OutboxEmail.__table__.c
    values = {"claimed_until": value(None, literal(until, UTCDateTime()), UTCDateTime())}
    if sent:
        values.update(
            status=value(OutboxStatus.SENT, OutboxEmail.status, columns.status.type),
            sent_at=value(now, OutboxEmail.sent_at, UTCDateTime()),
            attempts=value(OutboxEmail.attempts + 1, OutboxEmail.attempts),
            last_error=value(None, OutboxEmail.last_error, columns.last_error.type),
        )
    result = db.session.execute(
        update(OutboxEmail)
        .where(_held_by(worker), or_(*rows))
        .values(**values)
        .returning(OutboxEmail.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def _release(rows: list[OutboxEmail], worker: str) -> None:
    """Give back rows this worker claimed but will not send (another worker may take them now)."""
    if rows:
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_([row.id for row in rows]), _held_by(worker))
            .values(claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )


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
    """SMTP or console delivery: one connection for a whole run, opened again if it breaks."""

    def __init__(self):
        cfg = current_app.config
        self.backend = cfg["MAIL_BACKEND"]
        self.smtp: smtplib.SMTP | None = None
        if self.backend == "console":
            return
        if self.backend != "smtp":
            raise RuntimeError(f"MAIL_BACKEND must be smtp or console, not {self.backend!r}")
        self.connect()

    def connect(self) -> None:
        self.close()
        cfg = current_app.config
        cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
        self.smtp = cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
        if cfg["MAIL_USE_TLS"]:
            self.smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            self.smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")

    def send(self, msg: EmailMessage) -> None:
        if self.backend == "console":
            out = sys.stdout
            out.write("\n" + "=" * 72 + "\n" + msg.get_body(("plain",)).get_content().rstrip() + "\n")
            out.write(f"(email to {msg['To']}: {msg['Subject']})\n" + "=" * 72 + "\n")
            out.flush()
            return
        if self.smtp is None or self.smtp.sock is None:  # the server closed it (e.g. after a 421)
            self.connect()
        self.smtp.send_message(msg)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _connection_lost(exc: Exception) -> bool:
    """A broken or timed-out connection (not a reply from the server about this one email)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)


def _worker_id() -> str:
    return f"{socket.gethostname()[:48]}-{secrets.token_hex(6)}"


def deliver_due(now: datetime | None = None, limit: int | None = None) -> DeliveryReport:
    """Send the due emails: claim a batch, send it, and claim again until nothing is due (or
    `limit` emails have been tried). See the module's docstring for how two workers never send
    the same email."""
    clock = _Clock(now)
    batch_size = current_app.config["OUTBOX_BATCH_SIZE"]
    worker = _worker_id()
    report = DeliveryReport()
    transport: _Transport | None = None
    try:
        while limit is None or report.tried < limit:
            rows = _claim(clock(), worker, batch_size if limit is None else min(batch_size, limit - report.tried))
            if not rows:
                break
            if transport is None:
                try:
                    transport = _Transport()
                except (OSError, smtplib.SMTPException) as exc:
                    for row in rows:
                        _record_failure(row, exc, clock(), worker, report, permanent=False)
                    db.session.commit()
                    break
            if not _send_batch(rows, transport, worker, clock, report):
                break
    finally:
        if transport is not None:
            transport.close()
    return report


def _send_batch(rows: list[OutboxEmail], transport: _Transport, worker: str, clock: _Clock,
                report: DeliveryReport) -> bool:
    """Send a claimed batch, taking each row (or OUTBOX_EMAILS_PER_COMMIT rows) just before it is
    sent. Returns False if the SMTP server cannot be reached: the run stops, the rest of the batch
    is given back."""
    per_commit = max(1, current_app.config["OUTBOX_EMAILS_PER_COMMIT"])
    one_send = send_time()
    sent: list[int] = []  # accepted by the server, not yet recorded

    def record(take: list[OutboxEmail]) -> tuple[set[int], datetime]:
        """Commit what was sent (and the failures) and take the next rows."""
        now = clock()
        until = now + one_send * (len(take) + 1)
        changed = _sent_and_take(worker, now, sent, [row.id for row in take], until)
        db.session.commit()
        report.sent += len(sent)
        if lost := set(sent) - changed:
            log.warning("Emails %s were sent, but meanwhile cancelled or their lease ran out", sorted(lost))
        sent.clear()
        return changed, until

    index = 0
    while index < len(rows):
        chunk = rows[index : index + per_commit]
        changed, until = record(chunk)
        if any(row.id not in changed for row in chunk):  # another worker has them, or the lease ran out
            _release(rows[index:], worker)
            db.session.commit()
            return True
        for row in chunk:
            if clock() + one_send > until:  # too slow: not enough of the lease left for a send
                record([])
                _release(rows[index:], worker)
                db.session.commit()
                return True
            index += 1
            try:
                transport.send(build_message(row))
            except (OSError, smtplib.SMTPException) as exc:
                _record_failure(row, exc, clock(), worker, report, permanent=_is_permanent(exc))
                if _connection_lost(exc):
                    record([])
                    try:
                        transport.connect()
                    except (OSError, smtplib.SMTPException):
                        _release(rows[index:], worker)
                        db.session.commit()
                        return False
            else:
                sent.append(row.id)
    record([])
    return True


def _record_failure(row: OutboxEmail, exc: Exception, now: datetime, worker: str, report: DeliveryReport,
                    permanent: bool) -> None:
    attempts = row.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    values = {"attempts": OutboxEmail.attempts + 1, "last_error": error, "claimed_until": None}
    if permanent or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        values["status"] = OutboxStatus.FAILED
        report.failed += 1
    else:
        values["next_attempt_at"] = now + backoff(attempts)
        report.retrying += 1
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == row.id, _held_by(worker))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    report.errors.append(error)
    log.warning("Email %s to %s not delivered: %s", row.id, row.to_address, error)


def retry_now(row: OutboxEmail) -> None:
    """Put a failed email back in the queue (the admin's 'send again')."""
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = utcnow()
    row.claimed_until = None
