"""How long each export of the collective bid takes, and how much memory it needs, for bids of
5, 14 and 100 CSPs. Prints a table; not a test.

    python -m benchmarks                # everything (a few minutes)
    python -m benchmarks.exports --csps 14 --formats docx,xlsx

Each bid is built in its own SQLite database (in a temporary folder) with:
- every section of the EIYF 2018 template merged and filled to the funder's word limit, with
  paragraphs and bullet lists ("limits": what a bid that can be sent looks like); with
  `--text draft` each section instead holds every CSP's full text, as an unedited automatic first
  draft would (far over the limits: a stress case);
- 20 budget lines per CSP across both financial years and all six cost categories, half of them
  with match funding, and 2 lead-held lines;
- 5 outcomes and 5 partners per CSP (some partners shared, so they are de-duplicated);
- 2 supporting documents of 150 KB per CSP (for the ZIP).

Every measurement runs in a fresh Python process (so memory is that export's alone): the time is
reading the content from the database plus rendering the file, warm (after one run that loads
fonts and templates), best of 3 (1 for 100 CSPs); "first" is the cold first run in that process.
Peak memory is the growth of the process's maximum resident set size over the export runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (5, 14, 100)
FORMATS = ("docx", "pdf", "xlsx", "csv", "csv-outcomes", "zip")
ROOT = Path(__file__).resolve().parent.parent

_SENTENCE = (
    "young people at risk of exploitation will be offered mentoring through the youth offending service "
    "schools and police referral pathways with sustained support from trusted adults in community settings "
    "reducing exclusions knife possession and first time entrants while improving attendance and wellbeing "
    "evaluation partners measure outcomes quarterly against the baseline agreed with commissioners"
)
WORDS = tuple(_SENTENCE.split(" "))


def _text(rng: random.Random, words: int) -> str:
    """Plain text of about `words` words: paragraphs of 40–90 words and now and then a bullet list."""
    out, left = [], words
    while left > 0:
        if rng.random() < 0.2 and left > 30:
            items = [" ".join(rng.choices(WORDS, k=rng.randint(6, 12))) for _ in range(rng.randint(3, 5))]
            out.append("\n".join(f"- {item.capitalize()}" for item in items))
            left -= sum(len(i.split()) for i in items)
        else:
            n = min(left, rng.randint(40, 90))
            out.append(" ".join(rng.choices(WORDS, k=n)).capitalize() + ".")
            left -= n
    return "\n\n".join(out)


def build(database: Path, uploads: Path, csps: int, text: str) -> int:
    """Build a bid of `csps` accepted contributions. Returns the round's id."""
    from datetime import date, timedelta

    from flask_migrate import upgrade

    from app.extensions import db
    from app.models import (
        Attachment,
        BudgetLine,
        CollectiveBid,
        Contribution,
        ContributionStatus,
        LeadBudgetLine,
        MatchType,
        MergedSection,
        Organisation,
        OrganisationKind,
        Outcome,
        PartnerInvolvement,
        Role,
        SectionResponse,
        User,
    )
    from app.models.base import utcnow
    from app.services import rounds
    from app.services.merge import attributed

    rng = random.Random(csps)
    app = _app(database, uploads)
    with app.app_context():
        upgrade()
        lead = Organisation(kind=OrganisationKind.LEAD_BIDDER, name="Thames Valley Office of the Police and "
                            "Crime Commissioner", short_name="Thames Valley OPCC")
        db.session.add(lead)
        db.session.flush()
        admin = User(email="admin@example.org", full_name="Alex Admin", role=Role.LEAD_ADMIN, organisation=lead,
                     lead_bidder_id=lead.id, password_hash="-")
        db.session.add(admin)
        db.session.flush()
        now = utcnow()
        rnd = rounds.create_round(admin, fund_name="Early Intervention Youth Fund", funder="Home Office",
                                  title=f"Early Intervention Youth Fund: benchmark bid of {csps} CSPs", summary="",
                                  funder_deadline=now + timedelta(days=30), internal_deadline=now + timedelta(days=20))
        rnd.cap_per_bid_pence = None  # 100 CSPs ask for far more than one bid may; the exports do not mind
        years, categories = rnd.financial_years, rnd.cost_categories
        contributions = []
        for i in range(csps):
            csp = Organisation(kind=OrganisationKind.CSP, name=f"Community Safety Partnership number {i + 1:03d}",
                               lead_bidder_id=lead.id)
            contribution = Contribution(round=rnd, csp=csp, lead_bidder_id=lead.id,
                                        status=ContributionStatus.ACCEPTED, submitted_at=now)
            db.session.add_all([csp, contribution])
            for section in rnd.sections:
                if section.csp_contributes:
                    db.session.add(SectionResponse(contribution=contribution, section=section, completed=True,
                                                   text=_text(rng, section.csp_word_limit or 150), version=1))
            for n in range(20):
                match = rng.choice([0, 0, 250_000, 1_000_000]) if n % 2 == 0 else 0
                db.session.add(BudgetLine(
                    contribution=contribution, financial_year=years[n % len(years)],
                    cost_category=categories[n % len(categories)],
                    description=f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} line {n + 1}",
                    amount_pence=rng.randint(100_000, 5_000_000), match_pence=match,
                    match_type=(MatchType.CASH if n % 4 == 0 else MatchType.IN_KIND) if match else None,
                    match_source="Local authority" if match else None))
            for n in range(5):
                db.session.add(Outcome(contribution=contribution, measure=f"Outcome measure {n + 1}",
                                       baseline=f"{rng.randint(10, 90)} young people", target="20% fewer",
                                       by_when=date(2020, 3, 31)))
                name = f"Partner organisation {rng.randint(1, 3 * csps)}"
                db.session.add(PartnerInvolvement(contribution=contribution, organisation_name=name,
                                                  role="Delivers mentoring sessions"))
            for n in range(2):
                stored = rng.randbytes(16).hex()
                data = rng.randbytes(150 * 1024)
                (uploads / stored).write_bytes(data)
                db.session.add(Attachment(contribution=contribution, filename=f"evidence-{n + 1}.pdf",
                                          stored_name=stored, content_type="application/pdf",
                                          size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
            contributions.append(contribution)
        db.session.flush()
        bid = CollectiveBid(round=rnd, lead_bidder_id=lead.id, merge_order=[c.id for c in contributions])
        db.session.add(bid)
        for section in rnd.sections:
            if text == "draft" and section.csp_contributes:
                body = "\n\n".join(
                    attributed(c.csp.name, next(r.text for r in c.responses if r.section_id == section.id))
                    for c in contributions
                )
            else:
                body = _text(rng, section.word_limit or 500)
            db.session.add(MergedSection(bid=bid, section=section, text=body, version=1))
        for n in range(2):
            db.session.add(LeadBudgetLine(bid=bid, financial_year=years[n], cost_category=categories[-1],
                                          description="Programme management and evaluation",
                                          amount_pence=2_500_000, match_pence=0))
        db.session.commit()
        return rnd.id


def _app(database: Path, uploads: Path):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", UPLOAD_FOLDER=str(uploads),
                      EXPORT_FOLDER=str(uploads.parent / "exports"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def measure(database: Path, uploads: Path, round_id: int, fmt: str, repeats: int) -> dict:
    """Run in a fresh process: time content + render, `repeats` warm runs after a cold one."""
    from app.extensions import db
    from app.models import Round
    from app.services.exports import render
    from app.services.exports.content import bid_content

    app = _app(database, uploads)
    with app.app_context(), app.test_request_context():
        base = _rss_mb()
        times, size = [], 0
        for _ in range(1 + repeats):
            db.session.expire_all()
            started = time.perf_counter()
            content = bid_content(db.session.get(Round, round_id))
            data = render(content, fmt)
            times.append(time.perf_counter() - started)
            size = len(data)
        return {"first": times[0], "best": min(times[1:]), "median": statistics.median(times[1:]),
                "peak_mb": _rss_mb() - base, "bytes": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csps", default=",".join(map(str, SIZES)), help="bid sizes, e.g. 5,14,100")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--text", choices=("limits", "draft"), default="limits")
    parser.add_argument("--measure", nargs=5, metavar=("DB", "UPLOADS", "ROUND", "FORMAT", "REPEATS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        db_path, uploads, round_id, fmt, repeats = args.measure
        print(json.dumps(measure(Path(db_path), Path(uploads), int(round_id), fmt, int(repeats))))
        return

    sizes = [int(s) for s in args.csps.split(",")]
    formats = args.formats.split(",")
    print(f"Export benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, text: {args.text}")
    print("Seconds = reading the bid from the database + making the file, warm; first = cold first run.\n")
    header = f"{'CSPs':>5}  {'format':<13}{'seconds':>9}{'first':>9}{'peak MB':>9}{'size KB':>10}{'s per CSP':>11}"
    print(header)
    print("-" * len(header))
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"bid-{n}"
            uploads = folder / "uploads"
            uploads.mkdir(parents=True)
            database = folder / "bid.sqlite"
            started = time.perf_counter()
            round_id = _in_subprocess_build(database, uploads, n, args.text)
            print(f"{n:>5}  (built the bid in {time.perf_counter() - started:.1f} s)")
            for fmt in formats:
                repeats = 1 if n >= 50 else 3
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.exports", "--measure", str(database), str(uploads),
                     str(round_id), fmt, str(repeats)],
                    cwd=ROOT, capture_output=True, text=True, check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results[(n, fmt)] = r
                print(f"{n:>5}  {fmt:<13}{r['best']:>9.2f}{r['first']:>9.2f}{r['peak_mb']:>9.1f}"
                      f"{r['bytes'] / 1024:>10.0f}{r['best'] / n:>11.4f}")
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(f"\nGrowth from {small} to {large} CSPs ({large / small:.0f} times the CSPs):")
        for fmt in formats:
            a, b = results[(small, fmt)]["best"], results[(large, fmt)]["best"]
            print(f"  {fmt:<13} {b / a:6.1f} times the time")


def _in_subprocess_build(database: Path, uploads: Path, csps: int, text: str) -> int:
    code = (
        "import sys, pathlib; from benchmarks.exports import build; "
        f"print(build(pathlib.Path({str(database)!r}), pathlib.Path({str(uploads)!r}), {csps}, {text!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
