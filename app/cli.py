"""Flask commands: create-admin, demo seed, outbox send, export bid / contribution, reminders run,
search rebuild, notifications send-digests, bank-holidays update, storage migrate, jobs worker / status /
run, retention run, documents scan."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app import logs
from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User
from app.services import ServiceError
from app.services.exports import BID, CONTRIBUTION, formats_for


def register(app) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(demo)
    app.cli.add_command(outbox)
    app.cli.add_command(export)
    app.cli.add_command(reminders)
    app.cli.add_command(search)
    app.cli.add_command(notifications)
    app.cli.add_command(bank_holidays)
    app.cli.add_command(storage)
    app.cli.add_command(jobs)
    app.cli.add_command(retention)
    app.cli.add_command(documents)


@click.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's email address (their sign-in name).")
@click.option("--name", "full_name", prompt="Full name", help="The administrator's full name.")
@click.option("--organisation", prompt="Lead bidder organisation", help="e.g. 'Thames Valley OPCC'. Created if new.")
@click.password_option(help="At least 12 characters. Prompted for when not given.")
@with_appcontext
def create_admin(email: str, full_name: str, organisation: str, password: str) -> None:
    """Create a lead bidder administrator (and the lead bidder organisation if it is new)."""
    from app.services.accounts import normalise_email
    from app.services.passwords import hash_password, password_problem

    email = normalise_email(email)
    problem = password_problem(password, email)
    if problem:
        raise click.ClickException(problem)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise click.ClickException(f"An account with {email} already exists")
    lead = db.session.scalar(
        select(Organisation).where(Organisation.name == organisation, Organisation.lead_bidder_id.is_(None))
    )
    if lead is None:
        lead = Organisation(kind=OrganisationKind.LEAD_BIDDER, name=organisation)
        db.session.add(lead)
        db.session.flush()
    db.session.add(
        User(
            email=email,
            full_name=full_name,
            role=Role.LEAD_ADMIN,
            organisation=lead,
            lead_bidder_id=lead.id,
            password_hash=hash_password(password),
        )
    )
    db.session.commit()
    click.echo(f"Created lead bidder administrator {email} for {lead.name}.")


@click.group(cls=AppGroup)
def demo() -> None:
    """Demo data for trying the service out."""


def _logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


@demo.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has organisations.")
@click.option(
    "--scale", type=click.Choice(["national", "small"]), default=None,
    help="Instead of Thames Valley: 41 lead bidders and 400 CSPs for load testing (national), or a few (small).",
)
def demo_seed(if_empty: bool, scale: str | None) -> None:
    """Load Thames Valley OPCC, its 14 CSPs and their people, and print their passwords."""
    from app import demo as demo_data

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Demo data is not loaded in production.")
    if scale:
        _seed_national(scale, if_empty)
        return
    if if_empty and db.session.scalar(select(Organisation.id).limit(1)) is not None:
        path = _logins_file()
        if path.exists():
            click.echo(path.read_text())
        else:
            click.echo("The database already has data; demo data was not loaded.")
        return
    if demo_data.lead_exists():
        raise click.ClickException("The demo lead bidder already exists. Delete the database to start again.")
    logins = demo_data.seed()
    db.session.commit()
    text = demo_data.format_logins(logins)
    _logins_file().write_text(text)
    click.echo(text)


def _seed_national(scale: str, if_empty: bool) -> None:
    """Bulk-load the national data into an empty database; the sign-in details go to
    instance/national-logins.txt."""
    from app import demo_national

    path = Path(current_app.instance_path) / "national-logins.txt"
    if db.session.scalar(select(Organisation.id).limit(1)) is not None:
        if if_empty and demo_national.loaded():
            click.echo(f"The national demo data is already loaded. Sign-in details: {path}")
            return
        raise click.ClickException("The database already has data: national demo data is loaded into an empty one.")
    report = demo_national.seed(scale, progress=lambda message: click.echo(f"  {message}"))
    started = time.perf_counter()
    from app.services.search_index import rebuild

    rebuild(db.session.connection())  # the bulk load writes its rows without the session's help
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Planner statistics for the tables just filled: without them PostgreSQL guesses, and
        # scans whole tables that an index would answer, until autovacuum gets round to them.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    path.write_text(demo_national.format_logins(scale))
    click.echo(
        f"Loaded {report.leads} lead bidders, {report.csps} CSPs, {report.users} users, {report.rounds} rounds, "
        f"{report.contributions} contributions, {report.revisions} section revisions and {report.audit_events} "
        f"audit events in {report.seconds + time.perf_counter() - started:.1f} s."
    )
    click.echo(f"Every account's password: {demo_national.PASSWORD} (all sign-in details: {path})")
    for size, area in demo_national.BENCHMARK_AREAS.items():
        click.echo(f"  {area} ({size} CSPs at national scale): {demo_national.lead_email(area, 'admin')}")


@click.group(cls=AppGroup)
def outbox() -> None:
    """The email outbox."""


@outbox.command("send")
def outbox_send() -> None:
    """Deliver pending emails now (the job worker does this by itself; safe on several machines at once)."""
    from app.services.outbox import deliver_due

    with logs.bind(job="outbox send", run_id=logs.new_run_id()):  # on every line this run logs
        report = deliver_due()
    click.echo(f"Outbox: {report}")


@click.group(cls=AppGroup)
def export() -> None:
    """Export the collective bid or one contribution, for scripts and scheduled archiving.

    Every export is recorded (source "command line") and can be downloaded again from the export pages."""


def _output_option(function):
    return click.option(
        "--output", "-o", required=True, type=click.Path(dir_okay=False, allow_dash=True),
        help="The file to write; '-' writes the file to standard output.",
    )(function)


def _write_export(export, output: str) -> None:
    from app.models import ExportStatus
    from app.services import exports as service

    if export.status != ExportStatus.READY:
        raise click.ClickException(f"Export {export.id} failed: {export.error or export.status.label}")
    what = service.describe(export)
    mark = "signed off" if export.signed_off else (export.content_status or "draft").lower()
    summary = (
        f"{what}: {export.filename} ({export.size_bytes:,} bytes, version {export.short_hash}, {mark}; "
        f"export record {export.id}, SHA-256 {export.file_sha256})"
    )
    try:
        chunks = service.open_file(export)
    except FileNotFoundError as exc:
        raise click.ClickException(f"The file of export {export.id} is missing") from exc
    if output == "-":
        stream = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        click.echo(f"Wrote {summary}", err=True)
        return
    try:
        with open(output, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except OSError as exc:
        raise click.ClickException(f"Could not write {output}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {output}: {summary}")


def _check_output(output: str) -> None:
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise click.ClickException(f"Could not write {output}: the folder {Path(output).parent} does not exist")


@export.command("bid")
@click.argument("round_id", type=int)
@click.option("--format", "-f", "key", required=True,
              type=click.Choice([f.key for f in formats_for(BID, with_funder_form=True)]),
              help="The kind of file (funder-form: the round's funder's form, filled in).")
@_output_option
def export_bid(round_id: int, key: str, output: str) -> None:
    """Export the collective bid of round ROUND_ID as Word, PDF, Excel, CSV (budget lines or outcomes) or ZIP."""
    from app.models import Round
    from app.services.exports import export_now

    rnd = db.session.get(Round, round_id)
    if rnd is None:
        raise click.ClickException(f"There is no round with the id {round_id}")
    _check_output(output)
    try:
        export = export_now(None, rnd, key, source="command line")
    except ServiceError as exc:  # the funder's form asked for, and the round has none
        raise click.ClickException(exc.message) from None
    _write_export(export, output)
    from app.services.exports.funder_form import report_summary

    for part in report_summary(export.report):
        click.echo(f"{part['title']}: {'; '.join(part['items'])}. {part['advice']}", err=True)


@export.command("contribution")
@click.argument("contribution_id", type=int)
@click.option("--format", "-f", "key", required=True,
              type=click.Choice([f.key for f in formats_for(CONTRIBUTION)]), help="The kind of file.")
@_output_option
def export_contribution(contribution_id: int, key: str, output: str) -> None:
    """Export one CSP's contribution (CONTRIBUTION_ID) as Word or PDF."""
    from app.models import Contribution
    from app.services.exports import export_now

    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None:
        raise click.ClickException(f"There is no contribution with the id {contribution_id}")
    _check_output(output)
    _write_export(export_now(None, contribution.round, key, contribution, source="command line"), output)


@click.group(cls=AppGroup)
def reminders() -> None:
    """Reminder emails about deadlines."""


def _parse_now(value: str | None):
    from datetime import UTC, datetime

    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("Give a date and time like 2026-03-29T09:00:00+01:00", param_hint="--now") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("Include the offset, e.g. 2026-03-29T08:00:00Z or +01:00", param_hint="--now")
    return parsed.astimezone(UTC)


@reminders.command("run")
@click.option("--now", "now_text", metavar="ISO-8601",
              help="Act as if it were this moment (for testing and backfills), e.g. 2026-03-29T08:00:00Z.")
def reminders_run(now_text: str | None) -> None:
    """Write the reminders that are due to the outbox now (the job worker does this every minute;
    safe on several machines at once)."""
    from app.services.reminders import run

    with logs.bind(job="reminders run", run_id=logs.new_run_id()):
        report = run(now=_parse_now(now_text))
    click.echo(f"Reminders: {report}")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@click.group(cls=AppGroup)
def documents() -> None:
    """Supporting documents."""


@documents.command("scan")
@click.option("--unchecked", is_flag=True,
              help="Also check the documents uploaded before a virus scanner was configured.")
def documents_scan(unchecked: bool) -> None:
    """Check for viruses, one after another, every document still waiting for its check (CLAMD_URL
    must be set). Stops at the first time the scanner cannot be reached: run it again."""
    from app.services import scanning

    if not scanning.configured():
        raise click.ClickException("No virus scanner is configured: set CLAMD_URL first")
    if unchecked:
        marked = scanning.mark_unchecked_pending()
        db.session.commit()
        click.echo(f"{marked} documents not checked before are now waiting for their check.")
    results: dict[str, int] = {}
    for attachment_id in scanning.documents_awaiting_scan():
        try:
            status = scanning.scan_document(attachment_id)
        except scanning.ScannerError as exc:
            raise click.ClickException(f"The virus scanner could not check document {attachment_id}: {exc}") from None
        if status is not None:
            results[status.label] = results.get(status.label, 0) + 1
    found = ", ".join(f"{count} {label.lower()}" for label, count in sorted(results.items())) or "nothing to check"
    click.echo(f"Documents checked: {found}.")


@click.group(cls=AppGroup)
def search() -> None:
    """The search index."""


@search.command("rebuild")
def search_rebuild() -> None:
    """Write the search index again from the records (after a bulk load or a restore; the index is
    otherwise kept up to date as records change)."""
    from app.services.search_index import rebuild

    count = rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"The search index has {count:,} entries.")


@click.group(cls=AppGroup)
def notifications() -> None:
    """Notification emails."""


@notifications.command("send-digests")
@click.option("--now", "now_text", metavar="ISO-8601",
              help="Act as if it were this moment (for testing), e.g. 2026-03-30T09:05:00+01:00.")
def notifications_send_digests(now_text: str | None) -> None:
    """Queue the daily summaries that are due now: from 9am UK time on working days, once per person
    per day (the job worker does this every five minutes; safe on several machines at once)."""
    from app.services.digests import send_digests

    with logs.bind(job="notifications send-digests", run_id=logs.new_run_id()):
        report = send_digests(now=_parse_now(now_text))
    click.echo(f"Daily summaries: {report}")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


GOV_UK_BANK_HOLIDAYS = "https://www.gov.uk/bank-holidays.json"


@click.group("bank-holidays", cls=AppGroup)
def bank_holidays() -> None:
    """The England and Wales bank holidays that reminders and daily summaries skip."""


@bank_holidays.command("update")
@click.option("--url", default=GOV_UK_BANK_HOLIDAYS, show_default=True, help="Where to download gov.uk's JSON from.")
@click.option("--timeout", type=int, default=30, show_default=True, help="Seconds to wait for the server.")
def bank_holidays_update(url: str, timeout: int) -> None:
    """Download the bank holidays, check them, and replace the service's file in one step (unchanged if
    anything is wrong)."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    from app.workdays import DIVISION, MAX_BYTES, BankHolidayError, holidays_file, update_file

    if urlsplit(url).scheme not in ("http", "https"):
        raise click.BadParameter("Give an http or https address", param_hint="--url")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http or https only, checked above  # nosec B310
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"Could not download {url}: {getattr(exc, 'reason', exc)}") from exc
    path = holidays_file()
    try:
        days = update_file(data, path)
    except BankHolidayError as exc:
        raise click.ClickException(f"{exc}. {path} was not changed") from exc
    future = sorted(days)
    click.echo(
        f"Updated {path}: {len(days)} {DIVISION} bank holidays, from {future[0]:%-d %B %Y} to {future[-1]:%-d %B %Y}."
    )


@click.group(cls=AppGroup)
def storage() -> None:
    """Where the documents, funder's forms and exports are kept (app/storage.py)."""


@storage.command("migrate")
@click.option("--delete-local", is_flag=True,
              help="Remove each local file once its copy in the store has been read back and checked.")
def storage_migrate(delete_local: bool) -> None:
    """Copy the files in UPLOAD_FOLDER and EXPORT_FOLDER into the configured store (STORAGE_BACKEND=s3),
    checking each copy's SHA-256; files already there are skipped."""
    from app.services import storage_migration
    from app.storage import local_storage
    from app.storage import storage as configured

    target = configured()
    if target.name == "local":
        raise click.ClickException("STORAGE_BACKEND is local: set STORAGE_BACKEND=s3 and S3_BUCKET first")
    summary = storage_migration.migrate(local_storage(), target, delete_local=delete_local, echo=click.echo)
    counts = ", ".join(
        f"{summary.count(result)} {result}"
        for result in (storage_migration.COPIED, storage_migration.SKIPPED, storage_migration.MISSING,
                       storage_migration.CORRUPT, storage_migration.FAILED)
    )
    click.echo(f"{len(summary.outcomes)} files: {counts}; {summary.deleted} local files removed")
    if summary.problems:
        raise click.ClickException(f"{len(summary.problems)} files were not copied: see above")


@click.group(cls=AppGroup)
def jobs() -> None:
    """The background jobs' queue (app/jobs): the worker, and what it has done."""


@jobs.command("worker")
@click.option("--workers", type=int, default=None, help="Tasks run at once (threads); default JOB_WORKERS.")
@click.option("--no-periodic", is_flag=True, help="Do not run the periodic jobs from this worker.")
def jobs_worker(workers: int | None, no_periodic: bool) -> None:
    """Run tasks from the queue (JOBS_URL) until stopped, and the periodic jobs, each once per period
    however many workers run. SIGTERM or Ctrl+C: tasks in flight are put back on the queue."""
    from app.jobs import PERIODIC, run_worker

    count = workers or current_app.config["JOB_WORKERS"]
    periodic_jobs = ", ".join(f"{name} (every {spec.every})" for name, spec in PERIODIC.items())
    click.echo(f"Job worker: {count} threads on {_safe_url(current_app.config['JOBS_URL'])}; "
               f"periodic jobs: {'none' if no_periodic else periodic_jobs}")
    run_worker(current_app, count, periodic_jobs=not no_periodic)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    if url.startswith(("sqlite", "memory")):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@jobs.command("status")
def jobs_status() -> None:
    """Tasks waiting, and when each periodic job last ran."""
    from app.jobs import PERIODIC, queue_depth
    from app.services.health import last_job_runs

    click.echo(f"Tasks waiting: {queue_depth()}")
    runs = last_job_runs()
    for name in PERIODIC:
        run = runs.get(name)
        if run is None:
            click.echo(f"{name}: never run")
        else:
            click.echo(f"{name}: {run.outcome or 'running'} at {run.started_at:%Y-%m-%d %H:%M:%S} UTC"
                       f" on {run.worker}{f' - {run.summary}' if run.summary else ''}")


@jobs.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run one periodic job now, here, unless a worker has run it this period."""
    from app.jobs import PERIODIC, run_periodic

    if name not in PERIODIC:
        raise click.ClickException(f"No periodic job called {name}: choose from {', '.join(PERIODIC)}")
    with logs.bind(job=name, run_id=logs.new_run_id()):
        summary = run_periodic(name)
    click.echo(f"{name}: already run this period" if summary is None else f"{name}: {summary or 'done'}")


@click.group(cls=AppGroup)
def retention() -> None:
    """Removing what has been kept long enough (app/services/retention.py)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be removed, and change nothing.")
@click.option("--now", "now_text", metavar="ISO-8601",
              help="Act as if it were this moment (for testing), e.g. 2026-03-29T08:00:00Z.")
def retention_run(dry_run: bool, now_text: str | None) -> None:
    """Remove old export files (their records stay), stored files that no record names, expired pending
    funder's forms, notifications read long ago, ended sessions, expired links and old kept forms
    (safe to run again, and on several machines at once)."""
    from app.services.retention import describe, run_retention

    now = _parse_now(now_text)
    with logs.bind(job="retention run", run_id=logs.new_run_id()):
        report = run_retention(now=now, dry_run=dry_run)
    for line in describe(report):
        click.echo(line)
    if report.errors:
        raise click.ClickException(f"{len(report.errors)} could not be removed: see above")
