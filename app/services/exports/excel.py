"""The collective bid's budget as an Excel workbook (openpyxl).

Sheets:
- "Consolidated budget" (first): amount requested by cost category and financial year, by CSP
  (with match funding), match funding by type, and the checks against the round's caps and
  expected match funding. Every total is a live formula (=SUM(...)), and the checks refer to
  those totals, so a figure changed in Excel changes its totals.
- one sheet per CSP, and one for the lead bidder's own lines: every budget line, with SUM totals.
- "Outcomes": every outcome.

Amounts are numbers in pounds (Decimal pence/100, so exact to the penny) with a pound format.
Text typed by people is never a formula: see tables.py (formula-safety).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.dates import govuk_date, govuk_datetime
from app.services.exports.content import LEAD_LINES, ExportContent, LineRow
from app.services.exports.tables import looks_like_formula

MONEY = '"£"#,##0.00;[Red]-"£"#,##0.00'
DATE = "d mmmm yyyy"
CONSOLIDATED = "Consolidated budget"
OUTCOMES = "Outcomes"
LEAD_SHEET = "Lead-held lines"

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADING = Font(bold=True, size=12)
HEADER_FILL = PatternFill("solid", fgColor="F3F2F1")
THIN = Side(style="thin", color="B1B4B6")
HEADER_BORDER = Border(bottom=THIN)
TOTAL_BORDER = Border(top=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")

MIN_WIDTH, MAX_WIDTH = 10, 60


def pounds(pence: int) -> Decimal:
    """Pence as an exact number of pounds (written to the file as e.g. 12345.67)."""
    return Decimal(int(pence)) / 100


# --- sheet names -------------------------------------------------------------------------------

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]+")
SHEET_MAX = 31


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid sheet name for `name`, unique (Excel compares them ignoring case) among `taken`,
    which it is added to. At most 31 characters, none of []:*?/\\, not starting or ending with '."""
    clean = " ".join(_BAD_SHEET_CHARS.sub(" ", name or "").split())
    if len(clean) > SHEET_MAX:
        clean = re.sub(r"community safety partnership", "CSP", clean, flags=re.IGNORECASE)
    clean = clean[:SHEET_MAX].strip().strip("'").strip() or "CSP"
    if clean.casefold() == "history":  # reserved by Excel
        clean = "History CSP"
    candidate, n = clean, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = clean[: SHEET_MAX - len(suffix)].rstrip().rstrip("'") + suffix
    taken.add(candidate.casefold())
    return candidate


# --- writing cells -----------------------------------------------------------------------------

class _Sheet:
    """A worksheet being written, remembering how wide each column's contents are."""

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.widths: dict[int, int] = {}
        self.wrapped: set[int] = set()

    def _fit(self, col: int, length: int) -> None:
        if length > self.widths.get(col, 0):
            self.widths[col] = length

    def text(self, row: int, col: int, value: str | None, font: Font | None = None, measure: bool = True):
        """Text exactly as given, never run as a formula."""
        value = ILLEGAL_CHARACTERS_RE.sub("", value or "")
        cell = self.ws.cell(row=row, column=col)
        cell.value = value
        if looks_like_formula(value):
            cell.data_type = "s"  # openpyxl took the leading "=" for a formula: it is text
            cell.quotePrefix = True
        if font is not None:
            cell.font = font
        if measure:
            self._fit(col, max((len(part) for part in value.split("\n")), default=0))
        return cell

    def money(self, row: int, col: int, value: int | str, font: Font | None = None):
        """An amount in pence, or one of the app's own formulas, in pounds."""
        cell = self.ws.cell(row=row, column=col)
        cell.value = pounds(value) if isinstance(value, int) else value
        cell.number_format = MONEY
        if font is not None:
            cell.font = font
        self._fit(col, 14)
        return cell

    def header(self, row: int, labels: list[str], first_col: int = 1) -> None:
        for i, label in enumerate(labels):
            cell = self.text(row, first_col + i, label, BOLD)
            cell.fill = HEADER_FILL
            cell.border = HEADER_BORDER
            cell.alignment = WRAP

    def total_row(self, row: int, cols: range) -> None:
        for col in cols:
            cell = self.ws.cell(row=row, column=col)
            cell.border = TOTAL_BORDER
            cell.font = BOLD

    def finish(self, min_widths: dict[int, int] | None = None) -> None:
        for col, length in self.widths.items():
            width = max(MIN_WIDTH, (min_widths or {}).get(col, 0), min(MAX_WIDTH, length + 2))
            self.ws.column_dimensions[get_column_letter(col)].width = width
        ps = self.ws.page_setup
        ps.orientation = "landscape"
        ps.paperSize = self.ws.PAPERSIZE_A4
        ps.fitToWidth, ps.fitToHeight = 1, 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True


def _sum(col: int, first: int, last: int) -> str | int:
    """=SUM of a column's rows first..last; 0 when there are none."""
    if last < first:
        return 0
    letter = get_column_letter(col)
    return f"=SUM({letter}{first}:{letter}{last})"


def _row_sum(row: int, first_col: int, last_col: int) -> str | int:
    if last_col < first_col:
        return 0
    return f"=SUM({get_column_letter(first_col)}{row}:{get_column_letter(last_col)}{row})"


def _ref(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


# --- the consolidated sheet --------------------------------------------------------------------

def _ordered(declared: list[str], found) -> list[str]:
    """The round's order, then anything the lines have that the round does not (never lost)."""
    return list(declared) + [x for x in dict.fromkeys(found) if x not in set(declared)]


def _status_line(content: ExportContent) -> str:
    parts = [content.status]
    if content.signed_off and content.signed_off_by:
        when = f" on {govuk_date(content.signed_off_at)}" if content.signed_off_at else ""
        parts.append(f"signed off by {content.signed_off_by}{when}")
    parts.append(f"version {content.short_hash}")
    parts.append(f"made at {govuk_datetime(content.generated_at)}")
    return "; ".join(parts)


def _consolidated(s: _Sheet, content: ExportContent, years: list[str], categories: list[str]) -> None:
    s.text(1, 1, content.title, TITLE, measure=False)
    s.text(2, 1, f"Consolidated budget of the collective bid from {content.lead_bidder} "
                 f"to {content.funder} ({content.fund_name})", measure=False)
    s.text(3, 1, _status_line(content), measure=False)
    ny = len(years)

    # 1. cost category x financial year
    row = 5
    s.text(row, 1, "Amount requested by cost category and financial year", HEADING, measure=False)
    head = row + 1
    s.header(head, ["Cost category", *years, "Total"])
    cells: dict[tuple[str, str], int] = {}
    for line in content.lines:
        cells[(line.category, line.year)] = cells.get((line.category, line.year), 0) + line.amount_pence
    first = head + 1
    for i, category in enumerate(categories):
        r = first + i
        s.text(r, 1, category)
        for j, year in enumerate(years):
            s.money(r, 2 + j, cells.get((category, year), 0))
        s.money(r, 2 + ny, _row_sum(r, 2, 1 + ny), BOLD)
    last = first + len(categories) - 1
    total_row = last + 1
    s.text(total_row, 1, "Total", BOLD)
    for col in range(2, 3 + ny):
        s.money(total_row, col, _sum(col, first, last), BOLD)
    s.total_row(total_row, range(1, 3 + ny))
    grand = _ref(total_row, 2 + ny)
    year_total = {year: _ref(total_row, 2 + j) for j, year in enumerate(years)}
    s.ws.freeze_panes = s.ws.cell(row=first, column=2)

    # 2. by CSP
    row = total_row + 2
    s.text(row, 1, "Amount requested by CSP, with match funding", HEADING, measure=False)
    head = row + 1
    s.header(head, ["CSP", *years, "Total requested", "Match funding"])
    budgets = content.csp_budgets()
    first = head + 1
    for i, budget in enumerate(budgets):
        r = first + i
        s.text(r, 1, budget.name)
        for j, year in enumerate(years):
            s.money(r, 2 + j, budget.by_year.get(year, 0))
        s.money(r, 2 + ny, _row_sum(r, 2, 1 + ny), BOLD)
        s.money(r, 3 + ny, budget.match_total)
    last = first + len(budgets) - 1
    total_row = last + 1
    s.text(total_row, 1, "Total", BOLD)
    for col in range(2, 4 + ny):
        s.money(total_row, col, _sum(col, first, last), BOLD)
    s.total_row(total_row, range(1, 4 + ny))

    # 3. match funding by type
    row = total_row + 2
    s.text(row, 1, "Match funding by type", HEADING, measure=False)
    head = row + 1
    s.header(head, ["Type of match funding", "Amount"])
    by_type = content.match_by_type()
    kinds = [k for k in ("Cash", "In-kind") if k in by_type] + [k for k in by_type if k not in ("Cash", "In-kind")]
    first = head + 1
    for i, kind in enumerate(kinds):
        s.text(first + i, 1, kind)
        s.money(first + i, 2, by_type[kind])
    last = first + len(kinds) - 1
    total_row = last + 1
    s.text(total_row, 1, "Total match funding", BOLD)
    s.money(total_row, 2, _sum(2, first, last), BOLD)
    s.total_row(total_row, range(1, 3))
    match_total = _ref(total_row, 2)

    # 4. checks against the round's rules
    row = total_row + 2
    s.text(row, 1, "Checks against the round's caps and expected match funding", HEADING, measure=False)
    head = row + 1
    s.header(head, ["Check", "Cap or amount expected", "Amount in the bid", "Room left (+) or short (-)", "Result"])
    r = head + 1
    if content.cap_per_bid_pence is not None:
        _cap_row(s, r, "Cap per bid", content.cap_per_bid_pence, grand)
        r += 1
    for year in years:
        cap = content.year_caps.get(year)
        if cap is not None:
            _cap_row(s, r, f"Cap for {year}", cap, year_total[year])
            r += 1
    if content.match_percent:
        pct = content.match_percent
        s.text(r, 1, f"Match funding expected: {pct}% of the amount requested")
        # rounded up to the penny, as the bid pages do (ROUND first drops floating-point noise)
        s.money(r, 2, f"=ROUNDUP(ROUND({grand}*{pct}/100,6),2)")
        s.money(r, 3, f"={match_total}")
        s.money(r, 4, f"={_ref(r, 3)}-{_ref(r, 2)}")
        s.ws.cell(row=r, column=5, value=f'=IF({_ref(r, 3)}>={_ref(r, 2)},"Meets the expected match",'
                                         f'"Short of the expected match")')
        s._fit(5, 28)
        r += 1
    if r == head + 1:
        s.text(r, 1, "The round sets no caps and no expected match funding")
    s.finish(min_widths={1: 30})


def _cap_row(s: _Sheet, r: int, label: str, cap: int, amount_ref: str) -> None:
    s.text(r, 1, label)
    s.money(r, 2, cap)
    s.money(r, 3, f"={amount_ref}")
    s.money(r, 4, f"={_ref(r, 2)}-{_ref(r, 3)}")
    s.ws.cell(row=r, column=5, value=f'=IF({_ref(r, 3)}<={_ref(r, 2)},"Within the cap","Over the cap")')
    s._fit(5, 16)


# --- a CSP's lines -----------------------------------------------------------------------------

LINE_HEADERS = ["Financial year", "Cost category", "Description", "Amount requested", "Match funding",
                "Match type", "Match source"]


def _csp_sheet(s: _Sheet, content: ExportContent, name: str, lines: list[LineRow]) -> None:
    s.text(1, 1, name, TITLE, measure=False)
    s.text(2, 1, f"Budget lines in {content.title}", measure=False)
    head = 4
    s.header(head, LINE_HEADERS)
    first = head + 1
    for i, line in enumerate(lines):
        r = first + i
        s.text(r, 1, line.year)
        s.text(r, 2, line.category)
        s.text(r, 3, line.description).alignment = WRAP
        s.money(r, 4, line.amount_pence)
        s.money(r, 5, line.match_pence)
        s.text(r, 6, line.match_type or "")
        s.text(r, 7, line.match_source or "").alignment = WRAP
    last = first + len(lines) - 1
    total_row = last + 1
    s.text(total_row, 1, "Total" if lines else "Total (no budget lines)", BOLD)
    s.money(total_row, 4, _sum(4, first, last), BOLD)
    s.money(total_row, 5, _sum(5, first, last), BOLD)
    s.total_row(total_row, range(1, 8))
    s.ws.freeze_panes = s.ws.cell(row=first, column=1)
    s.ws.print_title_rows = f"{head}:{head}"
    s.finish(min_widths={3: 30})


def _outcomes_sheet(s: _Sheet, content: ExportContent) -> None:
    s.header(1, ["CSP", "Measure", "Baseline", "Target", "By when"])
    for i, o in enumerate(content.outcomes):
        r = 2 + i
        s.text(r, 1, o.csp)
        s.text(r, 2, o.measure).alignment = WRAP
        s.text(r, 3, o.baseline).alignment = WRAP
        s.text(r, 4, o.target).alignment = WRAP
        cell = s.ws.cell(row=r, column=5, value=o.by_when)
        cell.number_format = DATE
        cell.alignment = TOP
        s._fit(5, 18)
    if not content.outcomes:
        s.text(2, 1, "No outcomes")
    s.ws.freeze_panes = "A2"
    s.ws.print_title_rows = "1:1"
    s.finish()


# --- the workbook ------------------------------------------------------------------------------

def render_xlsx(content: ExportContent) -> bytes:
    wb = Workbook()
    years = _ordered(content.years, (line.year for line in content.lines))
    categories = _ordered(content.categories, (line.category for line in content.lines))
    taken = {CONSOLIDATED.casefold(), OUTCOMES.casefold()}

    ws = wb.active
    ws.title = CONSOLIDATED
    _consolidated(_Sheet(ws), content, years, categories)

    lead_suffix = f"({LEAD_LINES})"
    for budget in content.csp_budgets():
        title = sheet_name(LEAD_SHEET if budget.name.endswith(lead_suffix) else budget.name, taken)
        _csp_sheet(_Sheet(wb.create_sheet(title)), content, budget.name, budget.lines)

    _outcomes_sheet(_Sheet(wb.create_sheet(OUTCOMES)), content)

    props = wb.properties
    props.title = content.title
    props.subject = f"Consolidated budget: {content.fund_name}"
    props.creator = content.lead_bidder
    props.lastModifiedBy = content.lead_bidder
    props.keywords = f"{content.status}; version {content.content_hash}"
    props.description = _status_line(content)
    props.language = "en-GB"
    created = content.generated_at.replace(tzinfo=None) if content.generated_at.tzinfo else content.generated_at
    props.created = created  # (openpyxl sets "modified" to the time of saving)
    wb.calculation.fullCalcOnLoad = True

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
