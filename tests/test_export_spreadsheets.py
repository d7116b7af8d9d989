"""The Excel, CSV and ZIP exports of the collective bid, read back as a funder would open them.

The bid is built through the services (lines, outcomes, partners and documents added by the
CSPs, submitted, accepted; a lead-held line), exported, and read back with openpyxl, csv and
zipfile. Every expected total is worked out here from the rows in the database; the Excel
totals are formulas, which the test evaluates itself from the cells they refer to."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import BudgetLine, Contribution, MatchType, Round, User
from app.models.bid import LeadBudgetLine
from app.services import budget, consolidation, contributions, documents, review
from app.services.exports import filename_for, render
from app.services.exports.archive import DocumentUnavailable, safe_name
from app.services.exports.content import bid_content
from app.storage import storage
from tests.fixtures import documents as samples
from tests.test_submit import complete_everything

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)"]
HOSTILE_SOURCE = "=cmd|' /C calc'!A0"
RAW_HOSTILE = ["\tcmd /c calc", "\r=1+1"]  # leading whitespace the forms would trim: as imported
HOSTILE_MEASURE = "=1+2 young people"
BAD_SHEET_CHARS = set("[]:*?/\\")
A1_NAME, A2_NAME = "Reading Community Safety Partnership", "Safer Slough Partnership"


@pytest.fixture
def uploads(app, monkeypatch, tmp_path) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def _upload(actor, contribution, data: bytes, filename: str, description: str | None = None):
    return documents.upload_document(actor, contribution, FileStorage(io.BytesIO(data), filename=filename),
                                     description)


@pytest.fixture
def bid(app, world, uploads):
    """Two accepted contributions with lines in both years and several categories (some with cash
    or in-kind match funding, some with hostile text), outcomes, partners and documents; a
    lead-held line. Returns the documents uploaded: {CSP name: [(file name, bytes)]}."""
    complete_everything(app, world.contribution_a1)
    complete_everything(app, world.contribution_a2)
    uploaded = {A1_NAME: [], A2_NAME: []}
    with app.test_request_context():  # submitting and accepting queue emails with links to pages
        rnd = db.session.get(Round, world.round_a)
        rnd.match_percent = 10
        years, cats = rnd.financial_years, rnd.cost_categories
        a1 = db.session.get(Contribution, world.contribution_a1)
        a2 = db.session.get(Contribution, world.contribution_a2)
        m1 = db.session.get(User, world.users["csp_manager"])
        m2 = db.session.get(User, world.users["other_csp_manager"])

        def line(actor, c, y, k, description, amount, match=None, kind=None, source=None):
            budget.add_line(actor, c, financial_year_id=years[y].id, cost_category_id=cats[k].id,
                            description=description, amount_pence=amount, match_pence=match, match_type=kind,
                            match_source=source)

        line(m1, a1, 0, 1, "Mentoring sessions commissioned from a charity", 40_000_01, 5_000_00, MatchType.CASH,
             "Reading Borough Council")
        line(m1, a1, 1, 0, HOSTILE[0], 63_000_00, 2_500_33, MatchType.IN_KIND, HOSTILE_SOURCE)
        line(m1, a1, 1, 2, HOSTILE[1], 1_999_99)
        line(m1, a1, 1, 3, "£ and “quotes”, commas; new\nline", 7_77)
        line(m2, a2, 0, 0, HOSTILE[2], 30_000_00)
        line(m2, a2, 1, 2, HOSTILE[3], 12_345_67, 1_000_00, MatchType.CASH, "Thames Valley Police")
        budget.add_outcome(m1, a1, measure=HOSTILE_MEASURE, baseline="-5", target="+10%", by_when=date(2020, 3, 31))
        budget.add_partner(m1, a1, organisation_name="Reading Youth Trust", role="Delivers mentoring")
        budget.add_partner(m2, a2, organisation_name="Slough Borough Council", role="Youth service")
        for actor, c, files in (
            (m1, a1, [("problem profile.pdf", samples.pdf("Reading profile")),
                      ("problem profile.pdf", samples.pdf("Reading profile, second")),
                      ("map.png", samples.png())]),
            (m2, a2, [("delivery plan.docx", samples.docx()), ("photo.jpg", samples.jpeg())]),
        ):
            for name, data in files:
                stored = _upload(actor, c, data, name, f"About {name}")
                uploaded[c.csp.name].append((stored.attachment.filename, data))
        db.session.commit()
        lead_staff = db.session.get(User, world.users["lead_staff"])
        for actor, c in ((m1, a1), (m2, a2)):
            contributions.submit(actor, c)
            review.accept(lead_staff, c)
        # Lines imported with a leading tab or carriage return (the forms trim them).
        for i, text in enumerate(RAW_HOSTILE):
            db.session.add(BudgetLine(contribution=a2, financial_year=years[i], cost_category=cats[1],
                                      description=text, amount_pence=1_00 + i, match_pence=0))
        consolidation.add_lead_line(
            lead_staff, consolidation.get_or_create_bid(rnd), financial_year_id=years[1].id,
            cost_category_id=cats[4].id, description="Programme manager at the OPCC", amount_pence=10_000_00,
            match_pence=3_000_00, match_type=MatchType.IN_KIND, match_source="OPCC staff time",
        )
        db.session.commit()
    return uploaded


def _content(world):
    return bid_content(db.session.get(Round, world.round_a))


def _db_lines(world) -> list[dict]:
    """Every line of the bid straight from the tables: CSP lines of accepted contributions, lead lines."""
    rnd = db.session.get(Round, world.round_a)
    rows = []
    for line in db.session.scalars(select(BudgetLine).join(Contribution).where(Contribution.round_id == rnd.id)):
        rows.append(_row(line.contribution.csp.name, line))
    bid = consolidation.find_bid(rnd)
    for line in db.session.scalars(select(LeadBudgetLine).where(LeadBudgetLine.bid_id == bid.id)):
        rows.append(_row(f"{rnd.lead_bidder.display_name} (lead-held lines)", line))
    return rows


def _row(csp: str, line) -> dict:
    return {
        "csp": csp, "year": line.financial_year.label, "category": line.cost_category.name,
        "description": line.description, "amount": line.amount_pence, "match": line.match_pence or 0,
        "type": line.match_type.label if line.match_type and line.match_pence else "",
        "source": (line.match_source or "") if line.match_pence else "",
    }


def _lead(world) -> str:
    return f"{db.session.get(Round, world.round_a).lead_bidder.display_name} (lead-held lines)"


def _pence(value) -> int:
    """An Excel number in pounds as exact pence."""
    pounds = Decimal(str(value))
    assert pounds == pounds.quantize(Decimal("0.01")), value
    return int(pounds * 100)


# --- evaluating the workbook's own formulas --------------------------------------------------------

_REF = r"\$?([A-Z]+)\$?(\d+)"


def _cells(ws, start: str, end: str):
    (c1, r1), (c2, r2) = re.fullmatch(_REF, start).groups(), re.fullmatch(_REF, end).groups()
    for r in range(int(r1), int(r2) + 1):
        for c in range(column_index_from_string(c1), column_index_from_string(c2) + 1):
            yield f"{get_column_letter(c)}{r}"


def evaluate(ws, ref: str) -> Decimal:
    """The value of a cell in pounds, working out =SUM(range), =ref and =ref-ref formulas."""
    cell = ws[ref]
    value = cell.value
    if cell.data_type == "f":
        expr = value[1:]
        if m := re.fullmatch(r"SUM\(([A-Z]+\d+):([A-Z]+\d+)\)", expr):
            total = Decimal(0)
            for r in _cells(ws, m.group(1), m.group(2)):
                if ws[r].data_type in ("n", "f") and ws[r].value is not None:
                    total += evaluate(ws, r)
            return total
        if re.fullmatch(r"[A-Z]+\d+", expr):
            return evaluate(ws, expr)
        if m := re.fullmatch(r"([A-Z]+\d+)-([A-Z]+\d+)", expr):
            return evaluate(ws, m.group(1)) - evaluate(ws, m.group(2))
        raise AssertionError(f"Unexpected formula {value!r} in {ref}")
    assert isinstance(value, int | float), (ref, value)
    return Decimal(str(value))


def _sum_formula(ws, ref: str) -> int:
    """The cell holds a live SUM formula; its value in pence, worked out from the cells it refers to."""
    cell = ws[ref]
    assert cell.data_type == "f" and str(cell.value).startswith("=SUM("), (ref, cell.value)
    assert "£" in cell.number_format
    return _pence(evaluate(ws, ref))


def _row_of(ws, label: str, after: int = 0) -> int:
    for (cell,) in ws.iter_rows(min_row=after + 1, max_col=1):
        if cell.value == label:
            return cell.row
    raise AssertionError(f"No row {label!r} after row {after} in {ws.title}")


def _header(ws, row: int) -> dict[str, int]:
    return {c.value: c.column for c in ws[row] if c.value is not None}


def _load(data: bytes):
    return load_workbook(io.BytesIO(data), data_only=False)


# --- Excel -----------------------------------------------------------------------------------------


def test_consolidated_sheet_has_live_totals_right_to_the_penny(app, world, bid):
    with app.app_context():
        rows = _db_lines(world)
        rnd = db.session.get(Round, world.round_a)
        years = [y.label for y in rnd.financial_years]
        year_caps = {y.label: y.cap_pence for y in rnd.financial_years}
        cap, categories = rnd.cap_per_bid_pence, [c.name for c in rnd.cost_categories]
        wb = _load(render(_content(world), "xlsx"))
        title, lead = rnd.title, _lead(world)
    cells, by_year, by_cat, by_csp, match_by_csp, match_by_type = (defaultdict(int) for _ in range(6))
    for r in rows:
        cells[(r["category"], r["year"])] += r["amount"]
        by_year[r["year"]] += r["amount"]
        by_cat[r["category"]] += r["amount"]
        by_csp[r["csp"]] += r["amount"]
        match_by_csp[r["csp"]] += r["match"]
        if r["match"]:
            match_by_type[r["type"]] += r["match"]
    total, match_total = sum(r["amount"] for r in rows), sum(r["match"] for r in rows)
    assert total == 61_250_50 * 2 + 40_000_01 + 63_000_00 + 1_999_99 + 7_77 + 30_000_00 + 12_345_67 + 1_00 + 1_01 \
        + 10_000_00  # the lines the fixture added, so the test sees them all

    assert wb.sheetnames[0] == "Consolidated budget"
    assert wb.properties.title == title
    assert wb.calculation.fullCalcOnLoad is True
    ws = wb["Consolidated budget"]
    assert ws.freeze_panes

    # cost category x financial year
    head = _row_of(ws, "Cost category")
    cols = _header(ws, head)
    assert [h for h in cols if h in years] == years
    assert ws.cell(row=head, column=1).font.bold
    for category in categories:
        r = _row_of(ws, category, head)
        for year in years:
            cell = ws.cell(row=r, column=cols[year])
            assert cell.data_type == "n" and "£" in cell.number_format
            assert _pence(cell.value) == cells[(category, year)], (category, year)
        assert _sum_formula(ws, f"{get_column_letter(cols['Total'])}{r}") == by_cat[category]
    total_row = _row_of(ws, "Total", head)
    for year in years:
        assert _sum_formula(ws, f"{get_column_letter(cols[year])}{total_row}") == by_year[year]
    grand = f"{get_column_letter(cols['Total'])}{total_row}"
    assert _sum_formula(ws, grand) == total

    # by CSP, with match funding
    head = _row_of(ws, "CSP", total_row)
    cols = _header(ws, head)
    for csp, amount in by_csp.items():
        r = _row_of(ws, csp, head)
        assert sum(_pence(ws.cell(row=r, column=cols[y]).value) for y in years) == amount
        assert _sum_formula(ws, f"{get_column_letter(cols['Total requested'])}{r}") == amount
        assert _pence(ws.cell(row=r, column=cols["Match funding"]).value) == match_by_csp[csp]
    assert set(by_csp) == {A1_NAME, A2_NAME, lead}
    csp_total_row = _row_of(ws, "Total", head)
    assert _sum_formula(ws, f"{get_column_letter(cols['Total requested'])}{csp_total_row}") == total
    assert _sum_formula(ws, f"{get_column_letter(cols['Match funding'])}{csp_total_row}") == match_total

    # match funding by type
    head = _row_of(ws, "Type of match funding", csp_total_row)
    for kind, amount in match_by_type.items():
        assert _pence(ws.cell(row=_row_of(ws, kind, head), column=2).value) == amount
    assert set(match_by_type) == {"Cash", "In-kind"}
    match_row = _row_of(ws, "Total match funding", head)
    assert _sum_formula(ws, f"B{match_row}") == match_total

    # checks against the caps and the expected match funding (10% here)
    head = _row_of(ws, "Check", match_row)
    r = _row_of(ws, "Cap per bid", head)
    assert _pence(ws[f"B{r}"].value) == cap
    assert ws[f"C{r}"].value == f"={grand}"
    assert _pence(evaluate(ws, f"D{r}")) == cap - total
    assert ws[f"E{r}"].value.startswith("=IF(")
    for year in years:
        r = _row_of(ws, f"Cap for {year}", head)
        assert _pence(ws[f"B{r}"].value) == year_caps[year]
        assert _pence(evaluate(ws, f"C{r}")) == by_year[year]
    r = _row_of(ws, "Match funding expected: 10% of the amount requested", head)
    assert ws[f"B{r}"].value == f"=ROUNDUP(ROUND({grand}*10/100,6),2)"
    assert _pence(evaluate(ws, f"C{r}")) == match_total


def test_one_sheet_per_csp_lists_its_lines_with_sum_totals(app, world, bid):
    with app.app_context():
        rows = _db_lines(world)
        wb = _load(render(_content(world), "xlsx"))
        lead = _lead(world)
    names = wb.sheetnames
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert 0 < len(name) <= 31 and not BAD_SHEET_CHARS & set(name) and not name.startswith("'"), name
    assert names[-1] == "Outcomes" and "Lead-held lines" in names
    by_title = {wb[n]["A1"].value: wb[n] for n in names[1:-1]}
    assert set(by_title) == {A1_NAME, A2_NAME, lead}
    for csp in {r["csp"] for r in rows}:
        ws = by_title[csp]
        assert ws.freeze_panes
        head = _row_of(ws, "Financial year")
        assert all(c.font.bold for c in ws[head] if c.value)
        cols = _header(ws, head)
        total_row = _row_of(ws, "Total", head)
        found = []
        for r in range(head + 1, total_row):
            v = {h: ws.cell(row=r, column=c).value for h, c in cols.items()}
            assert "£" in ws.cell(row=r, column=cols["Amount requested"]).number_format
            found.append((v["Financial year"], v["Cost category"], v["Description"], _pence(v["Amount requested"]),
                          _pence(v["Match funding"]), v["Match type"] or "", v["Match source"] or ""))
        expected = [(r["year"], r["category"], r["description"], r["amount"], r["match"], r["type"], r["source"])
                    for r in rows if r["csp"] == csp]
        assert Counter(found) == Counter(expected)
        amount_col, match_col = get_column_letter(cols["Amount requested"]), get_column_letter(cols["Match funding"])
        assert _sum_formula(ws, f"{amount_col}{total_row}") == sum(r["amount"] for r in rows if r["csp"] == csp)
        assert _sum_formula(ws, f"{match_col}{total_row}") == sum(r["match"] for r in rows if r["csp"] == csp)
    outcomes = wb["Outcomes"]
    assert outcomes.freeze_panes == "A2"
    assert [c.value for c in outcomes[1]] == ["CSP", "Measure", "Baseline", "Target", "By when"]
    values = [[c.value for c in row] for row in outcomes.iter_rows(min_row=2)]
    assert [A1_NAME, HOSTILE_MEASURE, "-5", "+10%"] in [v[:4] for v in values]
    assert {v[4].date() for v in values} == {date(2020, 3, 31)}


def test_text_that_looks_like_a_formula_is_kept_as_text_in_excel(app, world, bid):
    with app.app_context():
        wb = _load(render(_content(world), "xlsx"))
    seen = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in [*HOSTILE, HOSTILE_SOURCE, *RAW_HOSTILE, HOSTILE_MEASURE, "-5", "+10%"]:
                    seen[cell.value] = cell
                elif cell.data_type == "f":  # the app's own totals and checks, nothing else
                    assert re.match(r"=(SUM|ROUNDUP|IF)\(|=[A-Z]+\d+(-[A-Z]+\d+)?$", cell.value), cell.value
    assert set(seen) == {*HOSTILE, HOSTILE_SOURCE, *RAW_HOSTILE, HOSTILE_MEASURE, "-5", "+10%"}
    for text, cell in seen.items():
        assert cell.data_type == "s", text
        assert cell.quotePrefix, text


def test_long_and_clashing_csp_names_get_unique_valid_sheet_names(app, world, bid):
    long = "Reading Community Safety Partnership and Wokingham"
    renamed = {A1_NAME: long + " North", A2_NAME: long + " South"}
    with app.app_context():
        content = _content(world)
        lead = _lead(world)
    content = dataclasses.replace(
        content,
        csps=[renamed[c] for c in content.csps] + ["Bad [name]: a/b\\c*?", "'Quoted'"],
        lines=[dataclasses.replace(line, csp=renamed.get(line.csp, line.csp)) for line in content.lines],
    )
    wb = _load(render(content, "xlsx"))
    names = wb.sheetnames
    assert len({n.casefold() for n in names}) == len(names) == 7
    for name in names:
        assert 0 < len(name) <= 31 and not BAD_SHEET_CHARS & set(name), name
        assert not name.startswith("'") and not name.endswith("'"), name
    assert {wb[n]["A1"].value for n in names[1:-1]} == {
        long + " North", long + " South", "Bad [name]: a/b\\c*?", "'Quoted'", lead}


# --- CSV -------------------------------------------------------------------------------------------


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark, for Excel
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert data.count(b"\r\n") == len(table)  # each record ends CRLF (a line break inside a field is kept)
    return table


def _safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def test_budget_lines_csv_has_every_line_with_amounts_and_safe_text(app, world, bid):
    with app.app_context():
        rows = _db_lines(world)
        data = render(_content(world), "csv")
    table = _read_csv(data)
    assert table[0] == ["CSP", "Financial year", "Cost category", "Description", "Amount requested (£)",
                        "Match funding (£)", "Match type", "Match source"]
    expected = [[r["csp"], r["year"], r["category"], _safe(r["description"]), f"{Decimal(r['amount']) / 100:.2f}",
                 f"{Decimal(r['match']) / 100:.2f}", r["type"], _safe(r["source"])] for r in rows]
    assert Counter(map(tuple, table[1:])) == Counter(map(tuple, expected))
    assert sum(Decimal(row[4]) for row in table[1:]) * 100 == sum(r["amount"] for r in rows)
    assert sum(Decimal(row[5]) for row in table[1:]) * 100 == sum(r["match"] for r in rows)
    descriptions = [row[3] for row in table[1:]]
    for text in HOSTILE + RAW_HOSTILE:
        assert "'" + text in descriptions
    assert "'" + HOSTILE_SOURCE in [row[7] for row in table[1:]]
    assert "£ and “quotes”, commas; new\nline" in descriptions
    assert "61250.50" in [row[4] for row in table[1:]]


def test_outcomes_csv(app, world, bid):
    with app.app_context():
        data = render(_content(world), "csv-outcomes")
    table = _read_csv(data)
    assert table[0] == ["CSP", "Measure", "Baseline", "Target", "By when"]
    assert sorted(table[1:]) == sorted([
        [A1_NAME, "Young people completing the programme", "0", "120", "2020-03-31"],
        [A2_NAME, "Young people completing the programme", "0", "120", "2020-03-31"],
        [A1_NAME, "'" + HOSTILE_MEASURE, "'-5", "'+10%", "2020-03-31"],
    ])


# --- ZIP -------------------------------------------------------------------------------------------


def test_zip_has_every_format_the_documents_by_csp_and_a_true_manifest(app, world, bid):
    with app.app_context():
        content = _content(world)
        data = render(content, "zip")
        names = {key: filename_for(content, key) for key in ("docx", "pdf", "xlsx", "csv", "csv-outcomes", "zip")}
        budget_csv = render(content, "csv")
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    root = names["zip"].removesuffix(".zip")
    members = {i.filename: i for i in zf.infolist()}
    for key in ("docx", "pdf", "xlsx", "csv", "csv-outcomes"):
        assert f"{root}/{names[key]}" in members, key
    assert zf.read(f"{root}/{names['pdf']}").startswith(b"%PDF")
    assert zf.read(f"{root}/{names['csv']}") == budget_csv
    assert load_workbook(io.BytesIO(zf.read(f"{root}/{names['xlsx']}"))).sheetnames[0] == "Consolidated budget"
    assert members[f"{root}/{names['pdf']}"].compress_type == zipfile.ZIP_STORED
    assert members[f"{root}/{names['csv']}"].compress_type == zipfile.ZIP_DEFLATED

    # a folder per CSP with its documents, byte for byte; the second "problem profile.pdf" renamed
    for csp, files in bid.items():
        folder = f"{root}/Supporting documents/{csp}/"
        inside = {n.removeprefix(folder): zf.read(n) for n in members if n.startswith(folder)}
        expected, seen = {}, Counter()
        for filename, raw in files:
            seen[filename] += 1
            stem, ext = filename.rsplit(".", 1)
            expected[filename if seen[filename] == 1 else f"{stem} ({seen[filename]}).{ext}"] = raw
        assert inside == expected, csp
    assert f"{root}/Supporting documents/{A1_NAME}/problem profile (2).pdf" in members

    # the manifest lists every other file with its size and SHA-256; so does SHA256SUMS
    manifest = list(csv.DictReader(io.StringIO(zf.read(f"{root}/manifest.csv").decode("utf-8-sig"))))
    listed = {row["Path in the ZIP"]: row for row in manifest}
    assert set(listed) == set(members) - {f"{root}/manifest.csv", f"{root}/SHA256SUMS"}
    for path, row in listed.items():
        member = zf.read(path)
        assert row["SHA-256"] == hashlib.sha256(member).hexdigest(), path
        assert int(row["Size (bytes)"]) == len(member), path
    sums = dict(reversed(line.split("  ", 1)) for line in zf.read(f"{root}/SHA256SUMS").decode().splitlines())
    assert {f"{root}/{p}": h for p, h in sums.items()} == {p: r["SHA-256"] for p, r in listed.items()}
    assert content.content_hash in zf.comment.decode()


def test_zip_fails_naming_a_missing_or_changed_document(app, world, bid):
    with app.app_context():
        content = _content(world)
        doc = next(d for d in content.documents if d.filename == "map.png")
        store = storage()
        store.put(doc.key, store.read(doc.key) + b"tampered")
        with pytest.raises(DocumentUnavailable, match=f"'map.png' from {A1_NAME} has changed since it was uploaded"):
            render(content, "zip")
        store.delete(doc.key)
        with pytest.raises(DocumentUnavailable, match=f"'map.png' from {A1_NAME} is missing"):
            render(content, "zip")


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../etc/passwd", "-..-etc-passwd"),
    ("CON", "_CON"),
    ("a/b:c*?.pdf", "a-b-c--.pdf"),
    ("  ", "file"),
])
def test_zip_names_are_safe(raw, safe):
    assert safe_name(raw) == safe
