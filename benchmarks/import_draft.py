"""How long importing a CSP's Word draft takes: a 20-page draft (about 10,000 words across the
round's sections, with paragraphs, bullet lists, a numbered list and a table in each section).
Prints a table; not a test.

    python -m benchmarks.import_draft              # best of 5
    python -m benchmarks.import_draft --repeats 10 --words 20000

Everything runs in this process on a SQLite database in a temporary folder (an EIYF 2018 round,
one CSP): the times are the service's and the page's, not the network's. Measured, best of N
after one warm-up run:
- baseline "open": python-docx opening the same file (what any reading costs);
- baseline "shell page": the GOV.UK template shell rendered with nothing of its own
  (benchmarks/baseline.py), what any page costs;
- check + open: app.services.office's checks of the upload (zip bomb, macros, links) and opening;
- read + match: app.services.office.word reading the parts and pairing headings with sections;
- preview: the two above plus the sections' saved texts (one query);
- preview page: rendering the preview page (its text twice: shown, and in the confirm form);
- confirm: saving every section as a new revision through the section save path, then rolled back.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.exports import WORDS


def _paragraph(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n)).capitalize() + "."


def build_draft(sections: list, words: int, seed: int = 20) -> bytes:
    """A Word draft with a heading per section and about `words` words under them."""
    from docx import Document

    rng = random.Random(seed)
    document = Document()
    document.add_paragraph("Draft for the partnership board")
    per_section = words // max(1, len(sections))
    for section in sections:
        document.add_heading(f"{section.number}. {section.title}", level=1)
        left = per_section
        while left > 0:
            kind = rng.random()
            if kind < 0.15:
                items = [_paragraph(rng, rng.randint(6, 12)) for _ in range(rng.randint(3, 5))]
                for item in items:
                    document.add_paragraph(item, style="List Bullet" if kind < 0.1 else "List Number")
                left -= sum(len(i.split()) for i in items)
            else:
                n = min(left, rng.randint(40, 90))
                document.add_paragraph(_paragraph(rng, n))
                left -= n
        table = document.add_table(rows=4, cols=3)
        for row in table.rows:
            for cell in row.cells:
                cell.text = " ".join(rng.choices(WORDS, k=3))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _app(folder: Path):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'import.sqlite'}",
                      UPLOAD_FOLDER=str(folder / "uploads"), EXPORT_FOLDER=str(folder / "exports"))


def _world(app):
    """An open EIYF 2018 round with one CSP and its manager. Returns (manager id, contribution id)."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.models import Organisation, OrganisationKind, Role, User
    from app.models.base import utcnow
    from app.services import rounds

    with app.app_context(), app.test_request_context():
        upgrade()
        lead = Organisation(kind=OrganisationKind.LEAD_BIDDER, name="Thames Valley OPCC")
        db.session.add(lead)
        db.session.flush()
        csp = Organisation(kind=OrganisationKind.CSP, name="Reading Community Safety Partnership",
                           lead_bidder_id=lead.id)
        db.session.add(csp)
        db.session.flush()
        admin = User(email="admin@example.org", full_name="Alex Admin", role=Role.LEAD_ADMIN, organisation=lead,
                     lead_bidder_id=lead.id, password_hash="-")
        manager = User(email="manager@example.org", full_name="Sam Manager", role=Role.CSP_MANAGER,
                       organisation=csp, lead_bidder_id=lead.id, password_hash="-")
        db.session.add_all([admin, manager])
        db.session.flush()
        now = utcnow()
        rnd = rounds.create_round(admin, fund_name="Early Intervention Youth Fund", funder="Home Office",
                                  title="Early Intervention Youth Fund 2018", summary="",
                                  funder_deadline=now + timedelta(days=30), internal_deadline=now + timedelta(days=20))
        rounds.set_participants(admin, rnd, {csp.id: manager.id})
        rounds.open_round(admin, rnd)
        db.session.commit()
        return manager.id, rnd.contributions[0].id


def _best(run, repeats: int) -> tuple[float, float]:
    run()  # warm: templates compiled, caches filled
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--words", type=int, default=10_000)
    args = parser.parse_args(argv)

    import docx
    from flask import render_template
    from flask_login import login_user

    from app.extensions import db
    from app.models import Contribution, User
    from app.services import office
    from app.services.contributions import csp_sections
    from app.services.imports import draft
    from app.text import count_words
    from benchmarks.baseline import shell

    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        app = _app(Path(folder))
        manager_id, contribution_id = _world(app)
        with app.app_context(), app.test_request_context("/"):
            manager = db.session.get(User, manager_id)
            login_user(manager)
            contribution = db.session.get(Contribution, contribution_id)
            sections = csp_sections(contribution)
            data = build_draft(sections, args.words)
            document = docx.Document(io.BytesIO(data))
            found, _ = draft.read_draft(document, sections)
            words = sum(count_words(text) for text, _ in found.values())

            shell_client = shell.test_client()
            results["baseline: python-docx opens the file"] = _best(
                lambda: docx.Document(io.BytesIO(data)), args.repeats)
            results["baseline: the shell page"] = _best(lambda: shell_client.get("/"), args.repeats)
            results["check + open the upload"] = _best(
                lambda: office.open_docx(office.check_docx(data, "draft.docx")), args.repeats)
            results["read + match"] = _best(lambda: draft.read_draft(docx.Document(io.BytesIO(data)), sections),
                                            args.repeats)

            def preview():
                document = office.open_docx(office.check_docx(data, "d.docx"))
                return draft.preview_document(contribution, document, "d.docx")

            results["preview (check, read, match, saved texts)"] = _best(preview, args.repeats)
            made = preview()
            from app.contributions.imports import ConfirmImportForm

            def page():
                form = ConfirmImportForm(formdata=None)
                form.sections.data = [s.section.id for s in made.found]
                return render_template("contributions/import_preview.html", title="Check what will be imported",
                                       contribution=contribution, preview=made, form=form)

            results["preview page rendered"] = _best(page, args.repeats)
            page_bytes = len(page().encode())
            chosen = [draft.Chosen(s.section.id, s.text, s.version) for s in made.found]

            def confirm():
                draft.import_sections(manager, contribution, chosen, "d.docx")
                db.session.rollback()

            results["confirm (every section a new revision)"] = _best(confirm, args.repeats)

    print(f"\nImporting a Word draft: {len(data) / 1024:,.0f} KB, {words:,} words in {len(found)} sections; "
          f"preview page {page_bytes / 1024:,.0f} KB (best and median of {args.repeats}, in ms)")
    width = max(len(k) for k in results)
    for name, (best, median) in results.items():
        print(f"  {name:<{width}}  {best * 1000:8.1f}  {median * 1000:8.1f}")
    return results


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
