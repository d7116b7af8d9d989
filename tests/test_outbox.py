"""The email outbox against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
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


def test_a_broken_connection_is_opened_again_for_the_rest_of_the_run(app, world, smtp_server):
    queue(app, world, key="test:1", to="first@example.org")
    queue(app, world, key="test:2", to="someone@hangup.invalid")  # the server says 421 and hangs up
    queue(app, world, key="test:3", to="third@example.org")
    with app.app_context():
        report = deliver_due()
    assert (report.sent, report.retrying, report.failed) == (2, 1, 0)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["first@example.org"], ["third@example.org"]]
    (_, _, error) = rows(app)[1]
    assert "421" in error
    assert [status for status, _, _ in rows(app)] == [OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.SENT]


def test_one_run_sends_every_due_email_in_batches(make_app, world, smtp_server):
    app = make_app(OUTBOX_BATCH_SIZE=3)
    for n in range(8):
        queue(app, world, key=f"test:{n}", to=f"person{n}@example.org")
    with app.app_context():
        assert deliver_due().sent == 8
        assert deliver_due().sent == 0
    assert len(smtp_server.messages) == 8


@pytest.mark.parametrize(("per_commit", "sent_by_each"), [(1, (1, 9)), (3, (3, 7))])
def test_two_workers_and_a_slow_smtp_server_send_each_email_once(
    make_app, world, smtp_server, per_commit, sent_by_each
):
    """Worker 1 claims a batch of 4 and starts sending; the server holds its first email. While it
    is held, worker 1's claim on the rest of its batch runs out (a one-second lease) and worker 2,
    the next run from cron, claims them. Worker 2 leaves alone what worker 1 is sending, and worker
    1 finds that it no longer holds the rest: every email arrives once."""
    app = make_app(OUTBOX_LEASE_SECONDS=1, OUTBOX_BATCH_SIZE=4, OUTBOX_EMAILS_PER_COMMIT=per_commit)
    keys = [f"test:{n}" for n in range(10)]
    for n, key in enumerate(keys):
        queue(app, world, key=key, to=f"person{n}@example.org")
    gate = smtp_server.hold_next()
    reports = {}

    def worker_1():
        with app.app_context():
            reports[1] = deliver_due()

    thread = threading.Thread(target=worker_1)
    thread.start()
    try:
        assert gate.held.wait(30), "worker 1 did not send"
        with app.app_context():  # two seconds later for worker 2: worker 1's claim has run out
            reports[2] = deliver_due(now=utcnow() + timedelta(seconds=2))
    finally:
        gate.release()
        thread.join(60)
    assert not thread.is_alive()

    assert (reports[1].sent, reports[2].sent) == sent_by_each
    received = sorted(str(m.message["X-Partnership-Bid-Key"]) for m in smtp_server.messages)
    assert received == sorted(keys)
    assert {(status, attempts) for status, attempts, _ in rows(app)} == {(OutboxStatus.SENT, 1)}


def test_a_worker_does_not_send_what_another_worker_claimed_while_it_was_held_up(make_app, world, smtp_server):
    from app.services.outbox import _claim

    app = make_app(OUTBOX_LEASE_SECONDS=1, OUTBOX_BATCH_SIZE=4)
    for n in range(4):
        queue(app, world, key=f"test:{n}", to=f"person{n}@example.org")
    gate = smtp_server.hold_next()
    reports = {}

    def worker_1():
        with app.app_context():
            reports[1] = deliver_due()

    thread = threading.Thread(target=worker_1)
    thread.start()
    try:
        assert gate.held.wait(30), "worker 1 did not send"
        with app.app_context():  # worker 2 claims the rest (and has not sent them yet)
            assert len(_claim(utcnow() + timedelta(seconds=2), "worker-2", 10)) == 3
    finally:
        gate.release()
        thread.join(60)
    assert reports[1].sent == 1
    assert [str(m.message["X-Partnership-Bid-Key"]) for m in smtp_server.messages] == ["test:0"]


def test_an_address_that_is_not_ascii_is_sent_with_smtputf8(app, world, smtp_server):
    queue(app, world, key="test:1", to="josé@example.org")
    queue(app, world, key="test:2", to="second@example.org")
    with app.app_context():
        assert deliver_due().sent == 2
    assert [m.rcpt_tos for m in smtp_server.messages] == [["josé@example.org"], ["second@example.org"]]
    assert [m.to for m in smtp_server.messages] == ["josé@example.org", "second@example.org"]
    assert all("The password for your Partnership Bid account" in m.text for m in smtp_server.messages)
