"""Money: integer pence in the database, pounds and pence typed in forms, "£12,345.67" on screen.

format_money() writes pence as people read them. parse_pence() reads what people type ("1250",
"1,250.50", "£1,250.50", " £ 1250 ") and refuses anything else with a GOV.UK-style message that
names the field. Plain Python with no Flask or templates, so services, exports and emails use it
directly; app.filters registers format_money as the `money` filter, and app.forms.MoneyField is
the form field built on parse_pence().

The money columns are 32-bit INTEGER (PostgreSQL's integer holds up to 2,147,483,647 pence, about
£21.4 million), so the largest amount accepted is £10,000,000.00: far more than any one line or cap
of the rounds we know (EIYF: £700,000 per bid), and safely storable. Raising it needs BIGINT columns.
"""

from __future__ import annotations

import re

__all__ = ["MAX_PENCE", "MoneyError", "format_money", "parse_pence", "pence_to_input"]

MAX_PENCE = 10_000_000_00  # £10,000,000.00

# Digits with optional correct thousands separators, then optional pence: 1250 / 1,250 / 1,250.5 / .50
_NUMBER = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)?(?:\.([0-9]*))?", re.ASCII)
_LOOKS_NEGATIVE = re.compile(r"^(?:-\s*£?|£\s*-|\()", re.ASCII)
_SPACES = re.compile(r"\s+")
_AROUND_SIGN = re.compile(r"\s*([£(-])\s*")
# Dashes people paste from word processors, read as a minus sign.
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


def format_money(pence: int | None) -> str:
    """'£12,345.67' from integer pence; whole pounds keep their pence: '£700,000.00'."""
    if pence is None:
        return ""
    sign = "-" if pence < 0 else ""
    pounds, rem = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}.{rem:02d}"


class MoneyError(ValueError):
    """What is wrong with an amount, as a message ready to show next to the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_pence(text: str | None, name: str = "Amount", maximum: int = MAX_PENCE) -> int | None:
    """Pence from what someone typed, or None when they typed nothing.

    `name` starts each message ("Amount requested must be a number"); `maximum` is in pence.
    """
    if text is None:
        return None
    cleaned = _SPACES.sub(" ", text.translate(_DASHES)).strip()
    if not cleaned:
        return None
    # Spaces around a sign go; spaces between digits are thousands separators, like commas.
    cleaned = _AROUND_SIGN.sub(lambda m: m.group(1), cleaned).replace(" ", ",")
    if _LOOKS_NEGATIVE.match(cleaned):
        raise MoneyError(f"{name} must be £0 or more")
    if cleaned.startswith("£"):
        cleaned = cleaned[1:]
    match = _NUMBER.fullmatch(cleaned)
    if not cleaned or match is None or cleaned == ".":
        raise MoneyError(f"{name} must be a number in pounds and pence, like 1,250 or 1,250.50")
    pence_text = match.group(1) or ""
    if len(pence_text) > 2:
        raise MoneyError(f"{name} must not have more than 2 decimal places, like 1,250.50")
    pounds_text = cleaned.split(".", 1)[0].replace(",", "") or "0"
    pence = int(pounds_text) * 100 + int(pence_text.ljust(2, "0"))
    if pence > maximum:
        raise MoneyError(f"{name} must be {format_money(maximum)} or less")
    return pence


def pence_to_input(pence: int | None) -> str:
    """What a form shows for a stored amount: '1,250.50', '700,000.00', '' for nothing."""
    if pence is None:
        return ""
    return format_money(pence).replace("£", "", 1)
