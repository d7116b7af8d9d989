"""How long `flask reminders run` takes on national data, and how many SQL statements it runs.
Prints numbers; not a test.

    python -m benchmarks.reminders                      # SQLite in a temporary folder
    python -m benchmarks.reminders --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders

The data (built here with the services and bulk inserts; a PostgreSQL database named in
--database-url is emptied first, and its name must start with "bench"): 41 lead bidders with about
300 CSPs between them (7 or 8 each), each CSP with a manager and a contributor, each lead bidder
with an administrator, two staff and a viewer, and three open rounds per lead bidder from the EIYF
template with every one of its CSPs taking part. The rounds' internal deadlines are 7 days, 1 day
and 2 days ago from the moment of the run (9:05am UK time), the funder's deadlines two weeks
after; contributions are spread over not started, in progress (three sections written, two
budget lines), changes requested (with the lead bidder's message), submitted and accepted.

It runs `reminders.run()` three times at the same moment: "first" writes the day's reminders
(the first run after 9am), "again" finds them written (the run every minute after that), and a
third run with --sized prints the statements per round for rounds of 5 and 50 CSPs side by side.
Jinja time is the part spent rendering the emails' templates.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.engine import make_url

from benchmarks import reset_database

LEADS = 41
CSPS = 300
ROUNDS_PER_LEAD = 3
DEADLINE_DAYS = (7, 1, -2)  # internal deadline: days after the run (negative: already passed)


def _app(url: str):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_BACKEND="console")


def run_moment():
    """9:05am UK time tomorrow: the reminders' send time has just passed."""
    from app.dates import LONDON, london_to_utc
    from app.models.base import utcnow

    return london_to_utc(utcnow().astimezone(LONDON).date() + timedelta(days=1), clock_time(9, 5))


def build(app, leads: int = LEADS, csps: int = CSPS, rounds_per_lead: int = ROUNDS_PER_LEAD,
          csps_per_lead: list[int] | None = None) -> None:
    """Lead bidders, CSPs, people and open rounds with contributions in every state."""
    from app.dates import LONDON, london_to_utc
    from app.extensions import db
    from app.models import (
        BudgetLine,
        ContributionStatus,
        Organisation,
        OrganisationKind,
        OutboxEmail,
        OutboxStatus,
        Role,
        SectionResponse,
        User,
    )
    from app.models.review import ChangeRequest
    from app.services import rounds

    at = run_moment()
    day = at.astimezone(LONDON).date()
    opened = at - timedelta(days=30)
    if csps_per_lead is None:
        csps_per_lead = [csps // leads + (1 if n < csps % leads else 0) for n in range(leads)]
    statuses = [ContributionStatus.NOT_STARTED, ContributionStatus.IN_PROGRESS, ContributionStatus.IN_PROGRESS,
                ContributionStatus.CHANGES_REQUESTED, ContributionStatus.SUBMITTED, ContributionStatus.ACCEPTED]
    with app.app_context():
        for n, count in enumerate(csps_per_lead):
            lead = Organisation(kind=OrganisationKind.LEAD_BIDDER, name=f"Shire {n + 1} Office of the Police and "
                                f"Crime Commissioner", short_name=f"Shire {n + 1} OPCC")
            db.session.add(lead)
            db.session.flush()
            people = [
                User(email=f"{role.value}{k}@lead{n}.example.org", full_name=f"{role.label} {k} of Shire {n + 1}",
                     role=role, organisation=lead, lead_bidder_id=lead.id, password_hash="-")
                for k, role in enumerate([Role.LEAD_ADMIN, Role.LEAD_STAFF, Role.LEAD_STAFF, Role.VIEWER])
            ]
            db.session.add_all(people)
            csp_orgs = [Organisation(kind=OrganisationKind.CSP, name=f"Town {n + 1}-{k + 1} Community Safety "
                                     f"Partnership", lead_bidder_id=lead.id) for k in range(count)]
            db.session.add_all(csp_orgs)
            db.session.flush()
            managers = {}
            for csp in csp_orgs:
                manager = User(email=f"manager@csp{csp.id}.example.org", full_name=f"Manager of {csp.name}",
                               role=Role.CSP_MANAGER, organisation=csp, lead_bidder_id=lead.id, password_hash="-")
                contributor = User(email=f"contributor@csp{csp.id}.example.org",
                                   full_name=f"Contributor to {csp.name}", role=Role.CSP_CONTRIBUTOR,
                                   organisation=csp, lead_bidder_id=lead.id, password_hash="-")
                db.session.add_all([manager, contributor])
                managers[csp.id] = manager
            db.session.flush()
            for r in range(rounds_per_lead):
                internal = london_to_utc(day + timedelta(days=DEADLINE_DAYS[r % len(DEADLINE_DAYS)]), clock_time(12))
                rnd = rounds.create_round(
                    people[0], fund_name="Early Intervention Youth Fund", funder="Home Office",
                    title=f"Early Intervention Youth Fund round {r + 1} of Shire {n + 1}", summary="",
                    funder_deadline=internal + timedelta(days=14), internal_deadline=internal)
                rounds.set_participants(people[0], rnd, {c.id: managers[c.id].id for c in csp_orgs})
                rounds.open_round(people[0], rnd, now=opened)
                db.session.flush()
                sections = [s for s in rnd.sections if s.csp_contributes]
                responses, lines, changes = [], [], []
                for k, contribution in enumerate(sorted(rnd.contributions, key=lambda c: c.csp_id)):
                    status = statuses[(k + r) % len(statuses)]
                    contribution.status = status
                    if status != ContributionStatus.NOT_STARTED:
                        for s, section in enumerate(sections[:3]):
                            responses.append({"contribution_id": contribution.id, "section_id": section.id,
                                              "text": "Young people at risk will be offered mentoring. " * 20,
                                              "completed": s < 2, "version": 1})
                        for m in range(2):
                            lines.append({"contribution_id": contribution.id,
                                          "financial_year_id": rnd.financial_years[m % len(rnd.financial_years)].id,
                                          "cost_category_id": rnd.cost_categories[m].id, "description": f"Line {m + 1}",
                                          "amount_pence": 1_000_000, "match_pence": 0})
                    if status == ContributionStatus.CHANGES_REQUESTED:
                        changes.append({"contribution_id": contribution.id, "items": ["budget"],
                                        "message": "Please split the mentoring costs by year.",
                                        "created_by_id": people[0].id, "created_at": opened + timedelta(days=3)})
                for model, rows in ((SectionResponse, responses), (BudgetLine, lines), (ChangeRequest, changes)):
                    if rows:
                        db.session.execute(insert(model), rows)
            db.session.commit()
        # The rounds' opening emails are not part of the benchmark.
        db.session.execute(update(OutboxEmail).values(status=OutboxStatus.CANCELLED))
        db.session.commit()
        counts = {name: db.session.scalar(select(text("count(*)")).select_from(text(name)))
                  for name in ("organisation", "user_account", "funding_round", "contribution")}
        print(f"Built: {counts['organisation']} organisations, {counts['user_account']} users, "
              f"{counts['funding_round']} rounds, {counts['contribution']} contributions")


def measure(app, label: str) -> dict:
    """One reminders run at run_moment(), in a fresh session: seconds, statements, Jinja time."""
    from jinja2 import Template

    from app.extensions import db
    from app.services import reminders

    statements = []
    jinja = [0.0]
    render = Template.render

    def timed_render(*args, **kwargs):
        started = time.perf_counter()
        try:
            return render(*args, **kwargs)
        finally:
            jinja[0] += time.perf_counter() - started

    with app.app_context():
        db.session.remove()
        listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        Template.render = timed_render
        try:
            started = time.perf_counter()
            report = reminders.run(now=run_moment())
            seconds = time.perf_counter() - started
        finally:
            Template.render = render
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not report.errors, report.errors
        result = {"label": label, "seconds": seconds, "statements": len(statements), "rounds": report.rounds,
                  "written": report.written, "skipped": report.skipped, "jinja": jinja[0]}
    per_round = result["statements"] / max(result["rounds"], 1)
    print(f"{label:<28}{seconds:>8.2f}{result['jinja']:>8.2f}{result['written']:>9}{result['skipped']:>9}"
          f"{result['rounds']:>8}{result['statements']:>12,}{per_round:>11.1f}")
    return result


def _database_url(value: str | None, tmp: str, name: str) -> str:
    if not value:
        return f"sqlite:///{Path(tmp) / name}"
    url = make_url(value)
    if url.get_backend_name() == "postgresql":
        if not (url.database or "").startswith("bench"):
            raise SystemExit("The PostgreSQL database is emptied: its name must start with 'bench'")
        from tests.conftest import ensure_database

        ensure_database(value)
    return value


HEADER = (f"{'run':<28}{'seconds':>8}{'Jinja':>8}{'written':>9}{'skipped':>9}{'rounds':>8}{'statements':>12}"
          f"{'per round':>11}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--leads", type=int, default=LEADS)
    parser.add_argument("--csps", type=int, default=CSPS)
    parser.add_argument("--sized", action="store_true", help="also: statements per round, 5 CSPs against 50")
    args = parser.parse_args(argv)
    print(f"Reminders benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        url = _database_url(args.database_url, tmp, "national.sqlite")
        print(f"Database: {make_url(url).get_backend_name()}")
        app = _app(url)
        reset_database(app)
        started = time.perf_counter()
        build(app, leads=args.leads, csps=args.csps)
        print(f"(built in {time.perf_counter() - started:.1f} s; the run is at {run_moment():%Y-%m-%d %H:%M} UTC)\n")
        print(HEADER)
        print("-" * len(HEADER))
        measure(app, "first run (writes the day's)")
        measure(app, "again (nothing new)")
        if args.sized:
            for csps in (5, 50):
                reset_database(app)
                build(app, leads=1, rounds_per_lead=1, csps_per_lead=[csps])
                measure(app, f"one round of {csps} CSPs")
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
