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
Some emails are worked out by the worker, not by the request that queued them
(queue_prepared_at_delivery()): the request writes a row holding only the address and a kind, and
the worker, when it claims the row, asks that kind's preparer what to send, if anything. A password
reset request is one: the request does the same work whether or not the address has an account (so
its timing says nothing), and the worker issues the link, or sends nothing.

The workers' clocks must agree to well within a send time (NTP). An email cancelled while it is
being sent may still go out.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import smtplib
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

from flask import current_app, has_request_context
from sqlalchemy import and_, bindparam, case, literal, null, or_, select, update

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
    context.setdefault("preferences_url", preferences_url())
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(context)
    subject, _, body = text.partition("\n")
    subject = subject.removeprefix("Subject:").strip()
    html = env.get_template(f"email/{template}.html").render(context, subject=subject)
    # Every email ends with where to change one's email preferences (the HTML: email/_layout.html).
    body = body.strip("\n") + "\n\n" + PREFERENCES_LINE.format(url=context["preferences_url"]) + "\n"
    return subject, body, html


PREFERENCES_LINE = "To change which emails you get and how often, go to your email preferences:\n{url}"


def preferences_url() -> str:
    """The email preferences page, as an absolute link (the end of every email)."""
    from app.urls import absolute_url

    return absolute_url("account.email_preferences")


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
    deliver_soon()
    stmt = (
        insert_for_dialect()(OutboxEmail)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxEmail.id)
    )
    return db.session.execute(stmt).first() is not None


def deliver_soon() -> None:
    """Have a worker deliver the outbox once this transaction commits (once per transaction, however
    many emails it writes; the periodic delivery catches anything this misses)."""
    from app.jobs import defer
    from app.jobs.outbox import deliver_outbox

    defer(deliver_outbox)


# Kinds of email the worker prepares when it sends them: kind -> preparer(address), which returns
# (template, context) to send, or None to send nothing. It may write (a token, an audit event)
# through db.session; the worker commits.
_PREPARERS: dict[str, Callable[[str], tuple[str, dict] | None]] = {}


def prepared_at_delivery(kind: str):
    """Register the preparer of one kind of email (a decorator): see queue_prepared_at_delivery()."""

    def register(preparer):
        _PREPARERS[kind] = preparer
        return preparer

    return register


def queue_prepared_at_delivery(kind: str, to: str, idempotency_key: str) -> None:
    """Queue an email that the worker prepares when it sends it (and may decide not to send).

    The row holds only the address and the kind: one INSERT, the same statement whatever the
    address, so a request's work (and time) cannot tell one address from another."""
    now = utcnow()
    deliver_soon()
    db.session.execute(
        insert_for_dialect()(OutboxEmail)
        .values(
            idempotency_key=idempotency_key,
            lead_bidder_id=None,
            to_address=to[:254],
            subject="",
            body_text="",
            body_html=None,
            template=kind,
            status=OutboxStatus.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def queue_emails(rows: list[dict]) -> None:
    """Queue many emails (rows from email_row()) in the current transaction, as queue_email()
    does one: a duplicate key is skipped. One executemany (a few multi-row INSERTs)."""
    if rows:
        deliver_soon()
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
    return max(timedelta(seconds=1), timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"]))


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
    OutboxEmail.template,
)


_TABLE = OutboxEmail.__table__


def _claim(now: datetime, worker: str, limit: int, conn=None) -> list[OutboxEmail]:
    """Claim up to `limit` due rows for `worker` with one UPDATE, and commit (on `conn`, or the
    session). Returns them oldest first, as OutboxEmail objects that are not in the session."""
    conn = conn if conn is not None else db.session
    c = _TABLE.c
    due = _TABLE.alias("due")
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
    if db.engine.dialect.name == "postgresql":
        # Materialized, so the subquery runs once; SKIP LOCKED: two workers take different rows.
        candidates = candidates.with_for_update(skip_locked=True)
    candidates = candidates.cte("candidates").prefix_with("MATERIALIZED", dialect="postgresql")
    result = conn.execute(
        update(_TABLE)
        .where(
            c.id.in_(select(candidates.c.id)),
            # Checked again on the row itself: another worker may have claimed it meanwhile.
            c.status == OutboxStatus.PENDING,
            or_(c.claimed_until.is_(None), c.claimed_until < now),
        )
        .values(claimed_until=now + claim_lease(), claimed_by=worker)
        .returning(*(c[column.key] for column in _SENDING))
    ).all()
    conn.commit()
    return sorted((OutboxEmail(**row._mapping) for row in result), key=lambda row: row.id)


def _held_by(worker):
    return and_(_TABLE.c.claimed_by == worker, _TABLE.c.status == OutboxStatus.PENDING)


@functools.cache
def _sent_and_take_statement(sent: bool, take: bool):
    """The UPDATE of _sent_and_take(), built once for each shape (it runs once per email)."""
    c = _TABLE.c
    now = bindparam("now", type_=UTCDateTime())
    is_sent = c.id.in_(bindparam("sent", expanding=True))
    rows = []
    if sent:
        rows.append(is_sent)
    if take:
        rows.append(and_(c.id.in_(bindparam("take", expanding=True)), c.claimed_until > now))

    def value(if_sent, if_taken):
        """The column's new value: one for the sent rows, another for the taken ones."""
        if not sent:
            return if_taken
        if not take:
            return if_sent
        return case((is_sent, if_sent), else_=if_taken)

    values = {"claimed_until": value(null(), bindparam("until", type_=UTCDateTime()))}
    if sent:
        values.update(
            status=value(literal(OutboxStatus.SENT, c.status.type), c.status),
            sent_at=value(now, c.sent_at),
            attempts=value(c.attempts + 1, c.attempts),
            last_error=value(null(), c.last_error),
        )
    return (
        update(_TABLE)
        .where(c.claimed_by == bindparam("worker"), c.status == literal(OutboxStatus.PENDING, c.status.type),
               or_(*rows))
        .values(**values)
        .returning(c.id)
    )


def _sent_and_take(conn, worker: str, now: datetime, sent: list[int], take: list[int], until: datetime) -> set[int]:
    """One UPDATE: mark the rows `sent` as sent, and take the rows `take` for sending until
    `until`, each only while `worker` holds it. Returns the ids it changed. Does not commit."""
    if not sent and not take:
        return set()
    params = {"worker": worker, "now": now, "until": until}
    if sent:
        params["sent"] = sent
    if take:
        params["take"] = take
    return set(conn.execute(_sent_and_take_statement(bool(sent), bool(take)), params).scalars())


def _release(conn, rows: list[OutboxEmail], worker: str) -> None:
    """Give back rows this worker claimed but will not send (another worker may take them now)."""
    if rows:
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id.in_([row.id for row in rows]), _held_by(worker))
            .values(claimed_until=None, claimed_by=None)
        )


# UTF-8 bodies as quoted-printable (readable, and short for mostly-ASCII text); CRLF on the wire.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_WIRE = compat32.clone(linesep="\r\n")


def build_message(row: OutboxEmail) -> Message:
    """The email: plain text, with the HTML as an alternative when there is one.

    Built with the email package's plain (compat32) API, which takes headers as they are instead
    of parsing each one as EmailMessage does: a third of the time, for the same message. A
    Subject that is not ASCII is encoded (RFC 2047) when the message is written out. An address
    that is not ASCII needs SMTPUTF8, which EmailMessage and smtplib.send_message() handle."""
    if not row.to_address.isascii():
        return _international_message(row)
    if row.body_html:
        msg = MIMEMultipart("alternative")
        for part in (MIMEText(row.body_text, "plain", _UTF8), MIMEText(row.body_html, "html", _UTF8)):
            del part["MIME-Version"]
            msg.attach(part)
    else:
        msg = MIMEText(row.body_text, "plain", _UTF8)
    msg["From"] = formataddr(parseaddr(current_app.config["MAIL_DEFAULT_SENDER"]), charset="utf-8")
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    msg["X-Partnership-Bid-Key"] = row.idempotency_key
    return msg


def _international_message(row: OutboxEmail) -> EmailMessage:
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


def text_of(msg: Message) -> str:
    """The plain text of a message made by build_message()."""
    if isinstance(msg, EmailMessage):
        return msg.get_body(("plain",)).get_content()
    part = msg.get_payload(0) if msg.is_multipart() else msg
    return part.get_payload(decode=True).decode("utf-8")


class _Transport:
    """SMTP or console delivery: one connection for a whole run, opened again if it breaks."""

    def __init__(self):
        cfg = current_app.config
        self.backend = cfg["MAIL_BACKEND"]
        self.sender = parseaddr(cfg["MAIL_DEFAULT_SENDER"])[1]
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

    def send(self, msg: Message) -> None:
        if self.backend == "console":
            out = sys.stdout
            out.write("\n" + "=" * 72 + "\n" + text_of(msg).rstrip() + "\n")
            out.write(f"(email to {msg['To']}: {msg['Subject']})\n" + "=" * 72 + "\n")
            out.flush()
            return
        if self.smtp is None or self.smtp.sock is None:  # the server closed it (e.g. after a 421)
            self.connect()
        if isinstance(msg, EmailMessage):
            self.smtp.send_message(msg)
        else:
            self.smtp.sendmail(self.sender, [msg["To"]], msg.as_bytes(policy=_WIRE))

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
    the same email. The run keeps one database connection of its own (and one SMTP connection)."""
    with db.engine.connect() as conn:
        return _Run(conn, _Clock(now)).deliver(limit)


class _Run:
    """One run of the worker: its id, its connections, and what it has done."""

    def __init__(self, conn, clock: _Clock):
        self.conn = conn
        self.clock = clock
        self.worker = _worker_id()
        self.report = DeliveryReport()
        self.transport: _Transport | None = None
        self.per_commit = max(1, current_app.config["OUTBOX_EMAILS_PER_COMMIT"])
        self.one_send = send_time()
        self.sent: list[int] = []  # accepted by the SMTP server, not yet recorded

    def deliver(self, limit: int | None) -> DeliveryReport:
        batch_size = max(1, current_app.config["OUTBOX_BATCH_SIZE"])
        report = self.report
        idle = 0  # batches in a row that other workers took from this one before it sent any
        try:
            while (limit is None or report.tried < limit) and idle < 3:
                size = batch_size if limit is None else min(batch_size, limit - report.tried)
                rows = _claim(self.clock(), self.worker, size, self.conn)
                if not rows:
                    break
                tried = report.tried
                claimed = len(rows)
                rows = self.prepare(rows)
                dropped = len(rows) < claimed  # rows it decided not to send: progress too
                if self.transport is None:
                    try:
                        self.transport = _Transport()
                    except (OSError, smtplib.SMTPException) as exc:
                        for row in rows:
                            self.record_failure(row, exc, permanent=False)
                        self.conn.commit()
                        break
                if not self.send_batch(rows):
                    break
                idle = 0 if report.tried > tried or dropped else idle + 1
        finally:
            if self.transport is not None:
                self.transport.close()
        return report

    def prepare(self, rows: list[OutboxEmail]) -> list[OutboxEmail]:
        """Work out the emails of the rows queued with queue_prepared_at_delivery(): fill each row in
        with what its preparer says to send, or cancel it when there is nothing to send. Returns
        the rows to send."""
        ready = []
        for row in rows:
            preparer = _PREPARERS.get(row.template)
            if preparer is None:
                ready.append(row)
                continue
            outcome = preparer(row.to_address)
            if outcome is None:
                values = {
                    "status": OutboxStatus.CANCELLED,
                    "claimed_until": None,
                    "last_error": "Nothing to send: no active account has this address",
                }
            else:
                template, context = outcome
                row.subject, row.body_text, row.body_html = render_email(template, **context)
                row.template = template
                values = {
                    "template": template,
                    "subject": row.subject,
                    "body_text": row.body_text,
                    "body_html": row.body_html,
                }
                if context.get("user") is not None:  # the admins of the account's lead bidder see it
                    values["lead_bidder_id"] = context["user"].lead_bidder_id
                ready.append(row)
            db.session.commit()  # what the preparer wrote (a link's token), before the email exists
            self.conn.execute(update(_TABLE).where(_TABLE.c.id == row.id, _held_by(self.worker)).values(**values))
            self.conn.commit()
        return ready

    def send_batch(self, rows: list[OutboxEmail]) -> bool:
        """Send a claimed batch, taking each row (or OUTBOX_EMAILS_PER_COMMIT rows) just before it
        is sent. Returns False if the SMTP server cannot be reached: the run stops, the rest of the
        batch is given back."""
        index = 0
        while index < len(rows):
            chunk = rows[index : index + self.per_commit]
            changed, until = self.record(take=chunk)
            if any(row.id not in changed for row in chunk):  # another worker has them, or the lease ran out
                self.give_back(rows[index:])
                return True
            for row in chunk:
                if self.clock() + self.one_send > until:  # too slow: not enough of the lease left for a send
                    self.record()
                    self.give_back(rows[index:])
                    return True
                index += 1
                try:
                    self.transport.send(build_message(row))
                except (OSError, smtplib.SMTPException) as exc:
                    self.record_failure(row, exc, permanent=_is_permanent(exc))
                    if _connection_lost(exc):
                        self.record()
                        try:
                            self.transport.connect()
                        except (OSError, smtplib.SMTPException):
                            self.give_back(rows[index:])
                            return False
                else:
                    self.sent.append(row.id)
        self.record()
        return True

    def record(self, take: list[OutboxEmail] = ()) -> tuple[set[int], datetime]:
        """Commit what was sent (and the failures), taking the rows `take` in the same UPDATE."""
        now = self.clock()
        until = now + self.one_send * (len(take) + 1)
        changed = _sent_and_take(self.conn, self.worker, now, self.sent, [row.id for row in take], until)
        self.conn.commit()
        self.report.sent += len(self.sent)
        if lost := set(self.sent) - changed:
            log.warning("Emails %s were sent, but meanwhile cancelled or their lease ran out", sorted(lost))
        self.sent = []
        return changed, until

    def give_back(self, rows: list[OutboxEmail]) -> None:
        _release(self.conn, rows, self.worker)
        self.conn.commit()

    def record_failure(self, row: OutboxEmail, exc: Exception, permanent: bool) -> None:
        """Record a failed attempt (committed with the next record())."""
        report = self.report
        attempts = row.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:2000]
        values = {"attempts": _TABLE.c.attempts + 1, "last_error": error, "claimed_until": None}
        if permanent or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            values["status"] = OutboxStatus.FAILED
            report.failed += 1
        else:
            values["next_attempt_at"] = self.clock() + backoff(attempts)
            report.retrying += 1
        self.conn.execute(update(_TABLE).where(_TABLE.c.id == row.id, _held_by(self.worker)).values(**values))
        report.errors.append(error)
        log.warning("Email %s to %s not delivered: %s", row.id, row.to_address, error)


def retry_now(row: OutboxEmail) -> None:
    """Put a failed email back in the queue (the admin's 'send again')."""
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = utcnow()
    row.claimed_until = None
