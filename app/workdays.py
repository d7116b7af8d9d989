"""Working days in England and Wales: not a Saturday, a Sunday or a bank holiday.

The bank holidays come from a file shipped with the service, app/data/bank-holidays.json, in the
format of https://www.gov.uk/bank-holidays.json (only the "england-and-wales" division is read).
`flask bank-holidays update` downloads that address again, checks it and replaces the file in one
step (`update_file`), so a running service picks up the new dates when the file changes (it is
read again when its modification time changes). The setting BANK_HOLIDAYS_FILE names another file.

The shipped file was generated from the `holidays` package on PyPI (England, 2024 to 2028:
substitute days kept, the weekend dates they replace left out, titles in gov.uk's words), which
gives the same dates as gov.uk publishes.

Plain Python (dates in, dates out): reminders and the daily summary of notifications ask it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

DIVISION = "england-and-wales"
DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "bank-holidays.json"
# A gov.uk file has every year from 2018 on; more than this is not a bank holiday list.
MAX_BYTES = 2 * 1024 * 1024
# Never more than this many days in a row without a working day (Christmas and a weekend: 4).
_MAX_GAP = 14

_lock = threading.Lock()
_cache: dict[str, tuple[float, frozenset[date]]] = {}


class BankHolidayError(ValueError):
    """The bank holiday data is not usable; the message says why."""


def parse(data: bytes | str) -> frozenset[date]:
    """The England and Wales bank holidays in gov.uk's JSON. Refuses data without the division,
    without events, or with a date that does not parse."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BankHolidayError(f"The bank holidays are not valid JSON: {exc}") from exc
    division = document.get(DIVISION) if isinstance(document, dict) else None
    if not isinstance(division, dict) or not isinstance(division.get("events"), list):
        raise BankHolidayError(f"The bank holidays have no “{DIVISION}” division with events")
    days = set()
    for event in division["events"]:
        text = event.get("date") if isinstance(event, dict) else None
        try:
            days.add(date.fromisoformat(text))
        except (TypeError, ValueError) as exc:
            raise BankHolidayError(f"A bank holiday has a date that is not a date: {text!r}") from exc
    if not days:
        raise BankHolidayError(f"The bank holidays of “{DIVISION}” are empty")
    return frozenset(days)


def holidays_file() -> Path:
    """The file in use: the app's BANK_HOLIDAYS_FILE setting, or the one shipped with the service."""
    try:
        from flask import current_app

        configured = current_app.config.get("BANK_HOLIDAYS_FILE")
    except RuntimeError:  # outside an application context
        configured = None
    return Path(configured) if configured else DEFAULT_FILE


def bank_holidays(path: Path | None = None) -> frozenset[date]:
    """The bank holidays in the file (read again only when the file has changed)."""
    path = path or holidays_file()
    key = str(path)
    mtime = path.stat().st_mtime_ns
    cached = _cache.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _lock:
        days = parse(path.read_bytes())
        _cache[key] = (mtime, days)
    return days


def is_working_day(day: date, holidays: frozenset[date] | None = None) -> bool:
    """Monday to Friday, and not a bank holiday in England and Wales."""
    if day.weekday() >= 5:
        return False
    return day not in (bank_holidays() if holidays is None else holidays)


def previous_working_day(day: date, holidays: frozenset[date] | None = None) -> date:
    """The working day before `day` (not `day` itself)."""
    holidays = bank_holidays() if holidays is None else holidays
    for n in range(1, _MAX_GAP + 1):
        candidate = day - timedelta(days=n)
        if is_working_day(candidate, holidays):
            return candidate
    raise BankHolidayError(f"No working day in the {_MAX_GAP} days before {day}")


def next_working_day(day: date, holidays: frozenset[date] | None = None) -> date:
    """The working day after `day` (not `day` itself)."""
    holidays = bank_holidays() if holidays is None else holidays
    for n in range(1, _MAX_GAP + 1):
        candidate = day + timedelta(days=n)
        if is_working_day(candidate, holidays):
            return candidate
    raise BankHolidayError(f"No working day in the {_MAX_GAP} days after {day}")


def on_or_before(day: date, holidays: frozenset[date] | None = None) -> date:
    """`day` if it is a working day, otherwise the working day before it."""
    return day if is_working_day(day, holidays) else previous_working_day(day, holidays)


def on_or_after(day: date, holidays: frozenset[date] | None = None) -> date:
    """`day` if it is a working day, otherwise the working day after it."""
    return day if is_working_day(day, holidays) else next_working_day(day, holidays)


def update_file(data: bytes, path: Path | None = None) -> frozenset[date]:
    """Check gov.uk's JSON and, if it is usable, replace the file with it in one step (a new file
    in the same folder, renamed over the old one): a reader sees the old file or the new one,
    never half of one. Raises BankHolidayError, leaving the file as it was, if it is not."""
    path = path or holidays_file()
    if len(data) > MAX_BYTES:
        raise BankHolidayError("The bank holidays file is too large")
    days = parse(data)
    handle, temporary = tempfile.mkstemp(prefix=".bank-holidays-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # public dates: readable by every worker of the service
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return days
