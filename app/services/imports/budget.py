"""A contribution's budget lines to and from Excel: the template to download, reading it back
filled in (a preview, with every problem row by row), and importing the lines it holds.

The template (template_workbook) has a "Budget lines" sheet with one row per line and the budget
line form's columns: financial year, cost category, description, amount requested and, when the
round takes match funding, its amount, type and source. The year, category and type cells are
lists of the round's own values (Excel's data validation), the amounts are checked as numbers of
£0 or more shown as "£1,250.00", the heading row is frozen, and the CSP's lines are filled in, so
downloading, changing and uploading it again works (choosing "replace" on the preview). A "How to
fill this in" sheet says what each column takes; the lists live on a hidden "Lists" sheet.

Reading a file back (read_upload) opens it only through app/services/office (old .xls files,
macros and "zip bombs" refused there). Decisions:
- The budget sheet is the first sheet with the headings Financial year, Cost category, Description
  and Amount requested in one of its first 20 rows; the columns may be in any order, other columns
  are ignored, and headings are matched ignoring case, "(£)" and "(optional)".
- Rows are numbered as Excel numbers them; blank rows are skipped.
- At most MAX_LINES lines per file. A bigger sheet is refused after reading MAX_LINES + 1 of its
  rows, streamed (office.survey_xlsx), before the file is loaded whole: quick whatever its size.
- Formula cells are read as the values Excel saved with them, never worked out. A formula with no
  saved value (a file made by a program that does not calculate) or one that takes its value from
  another workbook (whose saved value may be out of date) is a row error asking for the value to be
  typed in.
- A merged cell counts for every row it covers in the year, category, description and match
  funding type and source columns (a year typed once beside several lines). A merged amount that
  spans rows is a row error: which line would the money belong to?
- Numbers are rounded to the nearest penny, as the template's "£" format shows them; amounts typed
  as text are read as the budget line form reads them ("£1,250.50").
- Every line is checked with the budget line form's own rules (app/services/budget.line_problems):
  its messages, prefixed with the row ("Row 7: enter the amount requested").
- All or nothing: if any row has a problem, nothing can be imported; the preview says so.

Importing (import_lines) adds the lines, or replaces every line of the budget. The preview page
carries the lines it read (hidden fields: they are the user's own values, and are checked again
when confirmed) and the budget's state when it was shown ({line id: version}); replacing is
refused, with nothing changed, when any line has been added, changed or deleted since. Deleted
lines stay in the lead bidder's activity (one "Budget line deleted" event per line, with its
description, year, category and amounts), as when they are deleted one at a time.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from app.models import BudgetLine, Contribution, MatchType, Round, User
from app.money import MAX_PENCE, MoneyError, format_money, parse_pence
from app.services import ServiceError, office
from app.services import budget as rules
from app.services.audit import record
from app.services.exports.tables import looks_like_formula

MAX_LINES = 1_000
HEADER_SEARCH_ROWS = 20
# A sheet streamed past this many rows (blank ones included) is refused, so a sheet of a million
# formatted empty rows costs no more than one of MAX_LINES lines.
MAX_SCANNED_ROWS = 20 * MAX_LINES
CHUNK_LINES = 100  # lines per hidden field of the preview (each field stays well under the form limits)
# How a formula names another workbook: as Excel saves it ([1]Sheet1!A1, '[1]My sheet'!A1, [1]!Name)
# or as typed ([other.xlsx]Sheet1!A1). A table's column ("Table1[[#This Row],[2018]]") is not one.
EXTERNAL_REFERENCE = re.compile(r"\[\d+\][^\[\]!]*'?!|\[[^\]]*\.xl\w*\]", re.IGNORECASE)

SHEET = "Budget lines"
HELP_SHEET = "How to fill this in"
LISTS_SHEET = "Lists"
MONEY_FORMAT = '"£"#,##0.00'
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TOO_MANY_MESSAGE = (
    f"The budget sheet has more than {MAX_LINES:,} lines – upload {MAX_LINES:,} lines or fewer at a time "
    "(split the sheet into several files)"
)
NO_SHEET_MESSAGE = (
    "The selected file does not have a budget sheet – one of its first rows must have the headings "
    "Financial year, Cost category, Description and Amount requested (download the template to see them)"
)
PICK_YEAR = "Select a financial year from the list"
PICK_CATEGORY = "Select a cost category from the list"
NO_LINES_MESSAGE = "The budget sheet has no budget lines under its headings – fill in at least one line"
CARRIED_MESSAGE = "The budget lines of the preview could not be read – upload the file again"
ROUND_CHANGED_MESSAGE = "Some lines no longer fit the round’s budget rules – upload the file again to see why"


@dataclass(frozen=True)
class Column:
    key: str
    heading: str  # as the template writes it
    names: tuple[str, ...]  # headings it is found by (normalised)
    required: bool = False
    money: bool = False
    match: bool = False  # only when the round takes match funding


COLUMNS = (
    Column("year", "Financial year", ("financial year", "year"), required=True),
    Column("category", "Cost category", ("cost category", "category"), required=True),
    Column("description", "Description", ("description", "what the money is for"), required=True),
    Column("amount", "Amount requested (£)", ("amount requested", "amount"), required=True, money=True),
    Column("match_amount", "Match funding (£)", ("match funding", "match funding amount", "match amount"),
           money=True, match=True),
    Column("match_type", "Type of match funding", ("type of match funding", "match funding type", "match type"),
           match=True),
    Column("match_source", "Source of match funding",
           ("source of match funding", "match funding source", "match source"), match=True),
)  # fmt: skip
BY_KEY = {c.key: c for c in COLUMNS}
MONEY_WORDS = {"amount": "amount requested", "match_amount": "match funding"}
TEXT_WORDS = {
    "year": "financial year", "category": "cost category", "description": "description",
    "match_type": "type of match funding", "match_source": "source of match funding",
}  # fmt: skip


def _norm(text) -> str:
    """A heading or list value as compared: lower case, no "(£)", "(optional)" or punctuation."""
    text = str(text or "").lower().replace("(£)", " ").replace("£", " ").replace("(optional)", " ")
    text = re.sub(r"[\u2010-\u2015]", "-", text)
    return " ".join(re.sub(r"[^\w/ -]+", " ", text).split())


def _year_key(text) -> str:
    """'2018/19', '2018-19' and '2018 / 19' are one year."""
    return re.sub(r"\s*[-/]\s*", "/", _norm(text))


_MATCH_TYPES = {"cash": MatchType.CASH, "in-kind": MatchType.IN_KIND, "in kind": MatchType.IN_KIND,
                "inkind": MatchType.IN_KIND, "in_kind": MatchType.IN_KIND}  # fmt: skip


def columns_for(rnd: Round) -> list[Column]:
    takes_match = bool(rules.allowed_match_types(rnd))
    return [c for c in COLUMNS if takes_match or not c.match]


def _row_message(row: int, message: str) -> str:
    return f"Row {row}: {message[:1].lower()}{message[1:]}"


# --- the template ----------------------------------------------------------------------------

def _text_cell(ws, row: int, col: int, value: str | None):
    """Text exactly as given, never taken for a formula."""
    cell = ws.cell(row=row, column=col, value=ILLEGAL_CHARACTERS_RE.sub("", value or "") or None)
    if value and looks_like_formula(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def template_workbook(contribution: Contribution, lines: list[BudgetLine] | None = None) -> bytes:
    """The round's budget as an Excel template, with the contribution's lines filled in."""
    rnd = contribution.round
    columns = columns_for(rnd)
    col = {c.key: i for i, c in enumerate(columns, start=1)}
    lines = lines if lines is not None else rules.budget_summary(contribution).lines_by_year
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F3F2F1")
    for c in columns:
        cell = ws.cell(row=1, column=col[c.key], value=c.heading)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    widths = {"year": 16, "category": 28, "description": 60, "amount": 20, "match_amount": 20,
              "match_type": 22, "match_source": 40}  # fmt: skip
    for c in columns:
        ws.column_dimensions[get_column_letter(col[c.key])].width = widths[c.key]

    # The lists: one column each on a hidden sheet (a list typed into the rule is limited to 255 characters).
    lists = wb.create_sheet(LISTS_SHEET)
    values = {
        "year": [y.label for y in rnd.financial_years],
        "category": [c.name for c in rnd.cost_categories],
        "match_type": [t.label for t in rules.allowed_match_types(rnd)],
    }
    last = MAX_LINES + 1
    for i, (key, items) in enumerate(values.items(), start=1):
        if key not in col:
            continue
        _text_cell(lists, 1, i, BY_KEY[key].heading)
        for j, item in enumerate(items, start=2):
            _text_cell(lists, j, i, item)
        letter, list_col = get_column_letter(col[key]), get_column_letter(i)
        dv = DataValidation(
            type="list",
            formula1=f"{quote_sheetname(LISTS_SHEET)}!${list_col}$2:${list_col}${max(len(items) + 1, 2)}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=BY_KEY[key].heading,
            error=f"Choose a {TEXT_WORDS[key]} from the list",
            promptTitle=BY_KEY[key].heading,
            prompt=f"Choose the {TEXT_WORDS[key]} from the list",
            showInputMessage=True,
        )
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    lists.sheet_state = "hidden"
    for key in ("amount", "match_amount"):
        if key not in col:
            continue
        letter = get_column_letter(col[key])
        dv = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=str(Decimal(MAX_PENCE) / 100),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=BY_KEY[key].heading,
            error=f"Enter the {MONEY_WORDS[key]} in pounds and pence, £0 or more, like 1250.50",
        )
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
        ws.column_dimensions[letter].number_format = MONEY_FORMAT
    ws.column_dimensions[get_column_letter(col["year"])].number_format = "@"

    row = 2
    for group in lines:
        for line in group.lines:
            _text_cell(ws, row, col["year"], line.financial_year.label)
            _text_cell(ws, row, col["category"], line.cost_category.name)
            _text_cell(ws, row, col["description"], line.description).alignment = Alignment(wrap_text=True)
            ws.cell(row=row, column=col["amount"], value=Decimal(line.amount_pence) / 100).number_format = MONEY_FORMAT
            if "match_amount" in col and line.match_pence:
                cell = ws.cell(row=row, column=col["match_amount"], value=Decimal(line.match_pence) / 100)
                cell.number_format = MONEY_FORMAT
                _text_cell(ws, row, col["match_type"], line.match_type.label if line.match_type else None)
                _text_cell(ws, row, col["match_source"], line.match_source)
            row += 1

    help_ws = wb.create_sheet(HELP_SHEET, 1)
    help_ws.column_dimensions["A"].width = 100
    text = [
        ("How to fill this in", Font(bold=True, size=14)),
        (f"{contribution.csp.name}: {rnd.title}", bold),
        ("", None),
        (f"Put one budget line on each row of the “{SHEET}” sheet, under its headings. Leave the headings "
         "as they are. Empty rows are skipped.", None),
        ("Financial year and Cost category: choose from the lists in the cells (the round’s own: "
         + ", ".join(values["year"]) + "; " + ", ".join(values["category"]) + ").", None),
        ("Description: what the money is for, for example 2 detached youth workers (1.5 FTE). "
         f"{rules.DESCRIPTION_MAX} characters or fewer.", None),
        ("Amount requested: in pounds and pence, for example 25000 or 1250.50. It can be £0 only when the "
         "whole line is match funding.", None),
    ]  # fmt: skip
    if "match_amount" in col:
        text.append(("Match funding (optional): money or resources from elsewhere that pay for part of the line, "
                     "with its type (" + " or ".join(values["match_type"]) + ") and who provides it.", None))
    text += [
        ("Amounts worked out by formulas are fine once Excel has calculated and saved them. Type in any amount "
         "that comes from another workbook.", None),
        (f"You can upload up to {MAX_LINES:,} lines at a time. The lines already in your budget are filled in: "
         "when you upload this file, choose to replace your budget’s lines to keep one copy of each.", None),
    ]  # fmt: skip
    for i, (line, font) in enumerate(text, start=1):
        cell = _text_cell(help_ws, i, 1, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font is not None:
            cell.font = font
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_filename(contribution: Contribution) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", " ", f"{contribution.csp.name} budget").strip().replace(" ", "-")
    return f"{name or 'budget'}.xlsx"


# --- reading a filled-in sheet ---------------------------------------------------------------

@dataclass
class Layout:
    """Where the budget is in the workbook: its sheet, heading row and {column key: column number}."""

    sheet: str
    header_row: int
    columns: dict[str, int]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> formula text


def _find_columns(values) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, value in enumerate(values, start=1):
        if not isinstance(value, str):
            continue
        name = _norm(value)
        for c in COLUMNS:
            if c.key not in found and name in c.names:
                found[c.key] = i
                break
    if all(c.key in found for c in COLUMNS if c.required):
        return found
    return None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def survey(workbook) -> Layout:
    """Find the budget sheet in the streamed workbook (office.survey_xlsx), note its formula cells,
    and refuse it if it has more than MAX_LINES lines: reads at most MAX_LINES + 1 lines' rows."""
    for ws in workbook.worksheets:
        layout = None
        lines = 0
        ws.reset_dimensions()  # the size a file states may be wrong: read the rows there are
        for n, row in enumerate(ws.iter_rows(min_row=1), start=1):
            if layout is None:
                if n > HEADER_SEARCH_ROWS:
                    break
                columns = _find_columns([getattr(cell, "value", None) for cell in row])
                if columns is not None:
                    layout = Layout(ws.title, n, columns)
                continue
            if n > MAX_SCANNED_ROWS:
                raise ServiceError(TOO_MANY_MESSAGE, office.FIELD)
            wanted = set(layout.columns.values())
            mine = [cell for cell in row if getattr(cell, "column", None) in wanted]
            if all(_blank(cell.value) for cell in mine):
                continue
            lines += 1
            if lines > MAX_LINES:
                raise ServiceError(TOO_MANY_MESSAGE, office.FIELD)
            for cell in mine:
                if cell.data_type == "f":
                    layout.formulas[(cell.row, cell.column)] = str(cell.value)
        if layout is not None:
            return layout
    raise ServiceError(NO_SHEET_MESSAGE, office.FIELD)


@dataclass
class PreviewLine:
    row: int
    financial_year_id: int
    cost_category_id: int
    description: str
    amount_pence: int
    match_pence: int
    match_type: str | None
    match_source: str
    year_label: str = ""
    category_name: str = ""

    def values(self) -> dict:
        """add_line's keyword arguments."""
        return {
            "financial_year_id": self.financial_year_id,
            "cost_category_id": self.cost_category_id,
            "description": self.description,
            "amount_pence": self.amount_pence,
            "match_pence": self.match_pence or None,
            "match_type": self.match_type,
            "match_source": self.match_source,
        }

    def key(self) -> tuple:
        return (self.financial_year_id, self.cost_category_id, self.description, self.amount_pence,
                self.match_pence, self.match_type if self.match_pence else None,
                self.match_source if self.match_pence else "")  # fmt: skip

    @property
    def match_type_label(self) -> str:
        try:
            return MatchType(self.match_type).label if self.match_type else ""
        except ValueError:
            return ""


@dataclass
class YearTotal:
    label: str
    count: int = 0
    amount_pence: int = 0
    match_pence: int = 0


@dataclass
class Preview:
    """What a file holds: the lines read, problems by row, totals per year; and the budget now."""

    lines: list[PreviewLine]
    errors: list[tuple[int, str]]  # (row, message with "Row n: ")
    totals: list[YearTotal]
    existing_count: int = 0
    already_there: int = 0  # lines of the file exactly like one in the budget now
    state: str = ""  # the budget's lines now, as "id.version,..." (budget_state)
    filename: str = ""
    sheet: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.lines) and not self.errors

    @property
    def error_rows(self) -> int:
        return len({row for row, _ in self.errors})

    @property
    def amount_pence(self) -> int:
        return sum(t.amount_pence for t in self.totals)

    @property
    def match_pence(self) -> int:
        return sum(t.match_pence for t in self.totals)


def _pence(value, word: str) -> tuple[int | None, str | None]:
    """(pence, None), or (None, problem) for a money cell's value; (None, None) when empty."""
    if _blank(value):
        return None, None
    if isinstance(value, bool | datetime | date | time):
        return None, f"{word.capitalize()} must be a number in pounds and pence, like 1,250 or 1,250.50"
    if isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
            pence = int((amount * 100).quantize(Decimal(1), ROUND_HALF_UP))
        except (InvalidOperation, ValueError, OverflowError):
            return None, f"{word.capitalize()} must be a number in pounds and pence, like 1,250 or 1,250.50"
        if pence < 0:
            return None, f"{word.capitalize()} must be £0 or more"
        if pence > MAX_PENCE:
            return None, f"{word.capitalize()} must be {format_money(MAX_PENCE)} or less"
        return pence, None
    try:
        return parse_pence(str(value), word.capitalize()), None
    except MoneyError as exc:
        return None, exc.message


def _text(value) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return " ".join(ILLEGAL_CHARACTERS_RE.sub("", str(value)).split())


def _merged(ws) -> dict[tuple[int, int], tuple[object, int, int]]:
    """(row, column) of every cell in a merged range -> (the range's value, its first row, its last row)."""
    cells = {}
    for rng in ws.merged_cells.ranges:
        value = ws.cell(row=rng.min_row, column=rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                cells[(r, c)] = (value, rng.min_row, rng.max_row)
    return cells


def budget_state(contribution: Contribution) -> str:
    return ",".join(f"{i}.{v}" for i, v in sorted(rules.line_versions(contribution).items()))


def parse_state(text: str | None) -> dict[int, int] | None:
    if text is None:
        return None
    state = {}
    for part in filter(None, text.split(",")):
        ident, _, version = part.partition(".")
        if not (ident.isdigit() and version.isdigit()) or len(part) > 30:
            return None
        state[int(ident)] = int(version)
    return state


def read(contribution: Contribution, workbook, layout: Layout, filename: str = "") -> Preview:
    """The preview of a loaded workbook whose budget sheet `survey` found."""
    rnd = contribution.round
    ws = workbook[layout.sheet]
    years = {_year_key(y.label): y for y in rnd.financial_years}
    categories = {_norm(c.name): c for c in rnd.cost_categories}
    # Match funding columns are read even when the round takes none: the rules then say so.
    columns = layout.columns
    merged = _merged(ws)
    header = [c.value for c in ws[layout.header_row]]
    known = set(columns.values())
    ignored = [_text(v) for i, v in enumerate(header, start=1) if i not in known and not _blank(v)]
    first, last_col = min(columns.values()), max(columns.values())
    lines: list[PreviewLine] = []
    errors: list[tuple[int, str]] = []
    counted = 0
    for offset, cells in enumerate(
        ws.iter_rows(min_row=layout.header_row + 1, max_row=max(ws.max_row, layout.header_row + 1),
                     min_col=first, max_col=last_col, values_only=True)
    ):  # fmt: skip
        row = layout.header_row + 1 + offset
        own = {k: cells[c - first] for k, c in columns.items()}
        formulas = {k: layout.formulas[(row, c)] for k, c in columns.items() if (row, c) in layout.formulas}
        if all(_blank(v) for v in own.values()) and not formulas:
            continue
        counted += 1
        if counted > MAX_LINES:
            raise ServiceError(TOO_MANY_MESSAGE, office.FIELD)
        problems: list[str] = []
        values = dict(own)
        for key, c in columns.items():
            spot = merged.get((row, c))
            if spot is None:
                continue
            value, top, bottom = spot
            if BY_KEY[key].money and bottom > top:
                problems.append(
                    f"The {MONEY_WORDS[key]} is in cells merged across rows {top} to {bottom} – unmerge them "
                    "and give each line its own amount"
                )
                values[key] = None
            elif _blank(values[key]):
                values[key] = value
        for key, formula in formulas.items():
            word = MONEY_WORDS.get(key) or TEXT_WORDS[key]
            what = "amount" if BY_KEY[key].money else word
            if EXTERNAL_REFERENCE.search(formula):
                problems.append(f"The {word} comes from another workbook – type the {what} in")
                values[key] = None
            elif _blank(own[key]):
                problems.append(f"The {word} is a formula with no saved value – type the {what} in")
        skip_fields = set()
        year = years.get(_year_key(values["year"])) if not _blank(values["year"]) else None
        if not _blank(values["year"]) and year is None:
            labels = ", ".join(y.label for y in rnd.financial_years)
            problems.append(f"{PICK_YEAR} – “{_text(values['year'])}” is not one of this round’s ({labels})")
            skip_fields.add("financial_year")
        category = categories.get(_norm(values["category"])) if not _blank(values["category"]) else None
        if not _blank(values["category"]) and category is None:
            problems.append(f"{PICK_CATEGORY} – “{_text(values['category'])}” is not one of this round’s")
            skip_fields.add("cost_category")
        amount, problem = _pence(values["amount"], "amount requested")
        if problem:
            problems.append(problem)
            skip_fields.add("amount")
        elif amount is None and "amount" not in formulas and not any("amount requested" in p for p in problems):
            problems.append("Enter the amount requested, in pounds and pence")
            skip_fields.add("amount")
        match, problem = _pence(values.get("match_amount"), "match funding")
        if problem:
            problems.append(problem)
            skip_fields.add("match_amount")
        type_text = _norm(values.get("match_type"))
        match_type = _MATCH_TYPES.get(type_text)
        description = _text(values["description"])
        source = _text(values.get("match_source"))
        for name, message in rules.line_problems(
            rnd,
            financial_year_id=year.id if year else None,
            cost_category_id=category.id if category else None,
            description=description,
            amount_pence=amount,
            match_pence=match,
            match_type=match_type.value if match_type else (type_text or None),
            match_source=source,
        ):
            if name in skip_fields or (name == "amount" and "amount" in skip_fields):
                continue
            problems.append(message)
        if problems:
            errors += [(row, _row_message(row, p)) for p in problems]
            continue
        lines.append(PreviewLine(
            row=row,
            financial_year_id=year.id,
            cost_category_id=category.id,
            description=description,
            amount_pence=amount or 0,
            match_pence=match or 0,
            match_type=match_type.value if match and match_type else None,
            match_source=source if match else "",
            year_label=year.label,
            category_name=category.name,
        ))  # fmt: skip
    preview = _preview(contribution, lines, errors)
    preview.filename, preview.sheet, preview.ignored_columns = filename, layout.sheet, ignored
    if not lines and not errors:
        raise ServiceError(NO_LINES_MESSAGE, office.FIELD)
    return preview


def _preview(contribution: Contribution, lines: list[PreviewLine], errors) -> Preview:
    rnd = contribution.round
    totals = {y.id: YearTotal(y.label) for y in rnd.financial_years}
    for line in lines:
        t = totals[line.financial_year_id]
        t.count += 1
        t.amount_pence += line.amount_pence
        t.match_pence += line.match_pence
    existing = contribution.budget_lines
    keys = {
        (b.financial_year_id, b.cost_category_id, b.description, b.amount_pence, b.match_pence,
         b.match_type.value if b.match_type and b.match_pence else None,
         (b.match_source or "") if b.match_pence else "")
        for b in existing
    }  # fmt: skip
    return Preview(
        lines=lines,
        errors=errors,
        totals=list(totals.values()),
        existing_count=len(existing),
        already_there=sum(1 for line in lines if line.key() in keys),
        state=budget_state(contribution),
    )


def read_upload(actor: User, contribution: Contribution, upload) -> Preview:
    """Open an uploaded budget sheet (through app/services/office only) and read it: the preview.
    ServiceError(field="file") for a file that cannot be used at all; row problems in the preview."""
    from app.policy import require

    require(actor, "contribution.import_budget", contribution)
    found: list[Layout] = []
    workbook, opened = office.xlsx_from_upload(upload, survey=lambda wb: found.append(survey(wb)))
    try:
        return read(contribution, workbook, found[0], opened.filename)
    finally:
        workbook.close()


# --- carrying the lines from the preview to the confirmation ---------------------------------

def carry(preview: Preview) -> list[str]:
    """The preview's lines as hidden field values (JSON, CHUNK_LINES lines each)."""
    rows = [
        [p.row, p.financial_year_id, p.cost_category_id, p.description, p.amount_pence, p.match_pence,
         p.match_type or "", p.match_source]
        for p in preview.lines
    ]  # fmt: skip
    return [json.dumps(rows[i : i + CHUNK_LINES], ensure_ascii=False, separators=(",", ":"))
            for i in range(0, len(rows), CHUNK_LINES)]  # fmt: skip


def _carried(chunks: list[str]) -> list[PreviewLine]:
    lines = []
    try:
        for chunk in chunks:
            for item in json.loads(chunk):
                row, year, category, description, amount, match, kind, source = item
                numbers = (row, year, category, amount, match)
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
                    raise ValueError
                if not all(isinstance(v, str) for v in (description, kind, source)):
                    raise ValueError
                lines.append(PreviewLine(row, year, category, description, amount, match, kind or None, source))
    except (ValueError, TypeError, RecursionError):
        raise ServiceError(CARRIED_MESSAGE) from None
    if not lines or len(lines) > MAX_LINES:
        raise ServiceError(CARRIED_MESSAGE)
    return lines


def preview_of_carried(contribution: Contribution, chunks: list[str]) -> Preview:
    """The preview again, from its hidden fields, every line checked again with the round's rules."""
    rnd = contribution.round
    years = {y.id: y.label for y in rnd.financial_years}
    categories = {c.id: c.name for c in rnd.cost_categories}
    lines = _carried(chunks)
    errors = []
    for line in lines:
        for _, message in rules.line_problems(rnd, **line.values()):
            errors.append((line.row, _row_message(line.row, message)))
        line.year_label, line.category_name = years.get(line.financial_year_id, ""), categories.get(
            line.cost_category_id, ""
        )
    if errors:
        raise ServiceError(ROUND_CHANGED_MESSAGE)
    return _preview(contribution, lines, [])


@dataclass
class Imported:
    """How many lines were added, and how many of the budget's lines they replaced."""

    added: int
    replaced: int


def import_lines(
    actor: User, contribution: Contribution, chunks: list[str], *, replace: bool, expected_state: str | None
) -> Imported:
    """Add the carried lines to the budget, or replace every line with them. When replacing, the
    budget must still be as it was on the preview (`expected_state`): BudgetChanged otherwise."""
    from app.policy import require

    require(actor, "contribution.import_budget", contribution)
    preview = preview_of_carried(contribution, chunks)
    replaced = []
    if replace:
        expected = parse_state(expected_state)
        if expected is None:
            raise rules.BudgetChanged()
        replaced = rules.delete_lines(actor, contribution, expected)
    added = rules.add_lines(actor, contribution, [line.values() for line in preview.lines])
    how = f", replacing its {len(replaced)} line{'s' if len(replaced) != 1 else ''}" if replace else ""
    replaced_words = [
        f"{line.description} ({line.financial_year.label}, {line.cost_category.name}), "
        f"{format_money(line.amount_pence)} requested"
        + (f", {format_money(line.match_pence)} match funding" if line.match_pence else "")
        for line in replaced
    ]
    record(
        actor,
        "budget.imported",
        contribution,
        f"Imported {len(added)} budget line{'s' if len(added) != 1 else ''} from Excel into "
        f"{contribution.csp.name}'s contribution{how}",
        lead_bidder_id=contribution.lead_bidder_id,
        contribution_id=contribution.id,
        csp_id=contribution.csp_id,
        added=len(added),
        replaced=len(replaced),
        amount_pence=preview.amount_pence,
        replaced_lines=replaced_words,
    )
    return Imported(added=len(added), replaced=len(replaced))
