"""The email outbox against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxEmail, OutboxStatus, User
from app.models.base import utcnow
from app.services.outbox import backoff, deliver_due, queue_email, retry_now


def queue(app, world, key="test:1", to="someone@example.org"):
    with app.app_context():
        user = db.session.get(User, world.users["csp_manager"])
        queued = queue_email(to, "password_changed", idempotency_key=key, lead_bidder_id=world.lead_a, user=user)
        db.session.commit()
        return queued


def rows(app):
    with app.app_context():
        return [
            (r.status, r.attempts, r.last_error)
            for r in db.session.scalars(
                select(OutboxEmail).where(OutboxEmail.status != OutboxStatus.CANCELLED).order_by(OutboxEmail.id)
            )
        ]


def test_queued_email_is_delivered_by_smtp_with_text_and_html(app, world, smtp_server):
    queue(app, world)
    with app.app_context():
        report = deliver_due()
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [message] = smtp_server.messages
    assert message.rcpt_tos == ["someone@example.org"]
    assert message.subject == "Your Partnership Bid password has been changed"
    assert "The password for your Partnership Bid account was changed" in message.text
    assert "<html" in message.html
    assert message.message["Message-ID"].startswith("<outbox-")
    assert rows(app)[0][0] == OutboxStatus.SENT


def test_running_the_worker_twice_sends_once(app, world, smtp_server):
    queue(app, world)
    with app.app_context():
        deliver_due()
        deliver_due()
    assert len(smtp_server.messages) == 1


def test_same_idempotency_key_queues_once(app, world, smtp_server):
    assert queue(app, world, key="invite:42") is True
    assert queue(app, world, key="invite:42") is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxEmail.idempotency_key == "invite:42")) == 1
        deliver_due()
    assert len(smtp_server.messages) == 1


def test_email_is_only_queued_if_its_cause_commits(app, world, smtp_server):
    with app.app_context():
        user = db.session.get(User, world.users["csp_manager"])
        queue_email("x@example.org", "password_changed", idempotency_key="rolled-back", user=user)
        db.session.rollback()
        assert deliver_due().sent == 0
    assert smtp_server.messages == []


def test_smtp_down_keeps_the_email_and_delivers_it_once_when_back(app, world, smtp_server):
    queue(app, world)
    smtp_server.stop()
    try:
        with app.app_context():
            report = deliver_due()
        assert (report.sent, report.retrying) == (0, 1)
        [(status, attempts, error)] = rows(app)
        assert status == OutboxStatus.PENDING and attempts == 1
        assert "Connection refused" in error or "ConnectionRefusedError" in error

        # Not due again until the backoff has passed: running now sends nothing.
        with app.app_context():
            assert deliver_due().sent == 0
    finally:
        smtp_server.start()

    with app.app_context():
        assert deliver_due().sent == 0  # still backing off
        report = deliver_due(now=utcnow() + backoff(1) + timedelta(seconds=1))
        assert report.sent == 1
        deliver_due(now=utcnow() + timedelta(hours=1))
    assert len(smtp_server.messages) == 1
    [(status, attempts, error)] = rows(app)
    assert (status, attempts, error) == (OutboxStatus.SENT, 2, None)


def test_backoff_grows_and_is_capped():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(30) == timedelta(hours=6)


def test_gives_up_after_the_maximum_attempts_and_can_be_sent_again(make_app, world, smtp_server):
    app = make_app(OUTBOX_MAX_ATTEMPTS=2)
    queue(app, world)
    smtp_server.stop()
    try:
        with app.app_context():
            deliver_due()
            deliver_due(now=utcnow() + timedelta(hours=1))
    finally:
        smtp_server.start()
    assert rows(app)[0][0] == OutboxStatus.FAILED
    with app.app_context():
        assert deliver_due(now=utcnow() + timedelta(days=1)).sent == 0
        retry_now(db.session.scalar(select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.FAILED)))
        db.session.commit()
        assert deliver_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_rejected_recipient_is_a_permanent_failure(app, world, smtp_server):
    queue(app, world, to="nobody@rejected.invalid")
    with app.app_context():
        report = deliver_due()
    assert report.failed == 1
    [(status, attempts, error)] = rows(app)
    assert status == OutboxStatus.FAILED and attempts == 1
    assert "550" in error and "No such user" in error
    assert smtp_server.messages == []


def test_a_claimed_row_is_not_sent_by_a_second_worker(app, world, smtp_server):
    from app.services.outbox import _claim

    queue(app, world)
    with app.app_context():
        first = _claim(utcnow(), "worker-1", 10)
        second = _claim(utcnow(), "worker-2", 10)
        assert len(first) == 1 and second == []
        # If worker 1 dies, the lease runs out and another worker takes the row.
        third = _claim(utcnow() + timedelta(minutes=6), "worker-3", 10)
        assert len(third) == 1
