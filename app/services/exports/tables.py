"""The budget lines and the outcomes as CSV, and the formula-safety rule every table export uses.

Formula-safety: a spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and some treat a
leading tab or carriage return the same way) as a formula, so text typed by a CSP such as
`=HYPERLINK("http://evil","x")` could run when the funder opens the file. Only the app's own
totals may be formulas:
- in CSV such text is prefixed with a single quote `'` (the OWASP advice for CSV injection);
- in Excel it is stored as a plain string with the quote-prefix style (excel.py), so the text is
  kept exactly and shown as typed.

The CSV files are UTF-8 with a byte order mark (so Excel reads "£" correctly), with CRLF line
ends, and amounts as plain numbers in pounds with two decimals (12345.67).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from app.services.exports.content import ExportContent

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str | None) -> bool:
    """True when a spreadsheet could run this text as a formula."""
    return bool(text) and text.startswith(FORMULA_STARTS)


def csv_safe(text: str | None) -> str:
    """Text for a CSV text column: prefixed with ' when it could run as a formula."""
    text = text or ""
    return "'" + text if looks_like_formula(text) else text


def pounds(pence: int | None) -> str:
    """12345.67 from 1234567 pence: exact, two decimals, no currency sign or thousands separator."""
    pence = int(pence or 0)
    sign = "-" if pence < 0 else ""
    whole, rem = divmod(abs(pence), 100)
    return f"{sign}{whole}.{rem:02d}"


BUDGET_HEADERS = (
    "CSP", "Financial year", "Cost category", "Description", "Amount requested (£)", "Match funding (£)",
    "Match type", "Match source",
)
OUTCOME_HEADERS = ("CSP", "Measure", "Baseline", "Target", "By when")


def _csv(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # excel dialect: CRLF line ends, quotes where needed
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def budget_lines_csv(content: ExportContent) -> bytes:
    """Every budget line, one row each (the CSPs' lines, then the lead bidder's own)."""
    return _csv(BUDGET_HEADERS, (
        (
            csv_safe(line.csp), csv_safe(line.year), csv_safe(line.category), csv_safe(line.description),
            pounds(line.amount_pence), pounds(line.match_pence), csv_safe(line.match_type or ""),
            csv_safe(line.match_source or ""),
        )
        for line in content.lines
    ))


def outcomes_csv(content: ExportContent) -> bytes:
    """Every outcome, one row each; the date as ISO 8601 (2020-03-31)."""
    return _csv(OUTCOME_HEADERS, (
        (csv_safe(o.csp), csv_safe(o.measure), csv_safe(o.baseline), csv_safe(o.target), o.by_when.isoformat())
        for o in content.outcomes
    ))
