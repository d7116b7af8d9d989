"""Typed times, London wall-clock times across the clock changes, and countdowns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.dates import TimeError, countdown, govuk_datetime, london_to_utc, parse_time, utc_to_london_parts

UTC = UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12pm", time(12)),
        ("12 PM", time(12)),
        ("midday", time(12)),
        ("noon", time(12)),
        ("midnight", time(0)),
        ("12am", time(0)),
        ("9am", time(9)),
        ("9:30am", time(9, 30)),
        ("9.30am", time(9, 30)),
        ("17:00", time(17)),
        ("0:15", time(0, 15)),
        ("11:59pm", time(23, 59)),
    ],
)
def test_times_people_type(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "25:00", "13pm", "9:75", "half nine", "0am"])
def test_times_that_are_refused(text):
    with pytest.raises(TimeError):
        parse_time(text)


def test_summer_and_winter_times():
    assert london_to_utc(date(2018, 9, 28), time(12)) == datetime(2018, 9, 28, 11, tzinfo=UTC)
    assert london_to_utc(date(2018, 12, 3), time(12)) == datetime(2018, 12, 3, 12, tzinfo=UTC)


def test_the_hour_skipped_in_march_is_refused():
    with pytest.raises(TimeError, match="clocks go forward"):
        london_to_utc(date(2026, 3, 29), time(1, 30))


def test_the_hour_repeated_in_october_means_the_first_one():
    # 01:30 happens twice on 25 October 2026: first in BST (00:30 UTC), then in GMT (01:30 UTC).
    assert london_to_utc(date(2026, 10, 25), time(1, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_round_trip_for_forms():
    value = datetime(2018, 9, 14, 11, tzinfo=UTC)
    assert utc_to_london_parts(value) == (date(2018, 9, 14), "12pm")
    assert govuk_datetime(value) == "12pm on Friday 14 September 2018"


@pytest.mark.parametrize(
    ("now", "text", "urgent"),
    [
        (datetime(2018, 9, 9, 12, tzinfo=UTC), "5 days left", False),
        (datetime(2018, 9, 11, 8, tzinfo=UTC), "3 days left", True),
        (datetime(2018, 9, 13, 23, 30, tzinfo=UTC), "Due today at 12pm", True),  # 00:30 BST on the 14th
        (datetime(2018, 9, 13, 22, 59, tzinfo=UTC), "1 day left", True),
        (datetime(2018, 9, 14, 11, 0, 1, tzinfo=UTC), "Overdue since 12pm today", True),
        (datetime(2018, 9, 16, 9, tzinfo=UTC), "2 days overdue", True),
    ],
)
def test_countdown_in_london_days(now, text, urgent):
    deadline = datetime(2018, 9, 14, 11, tzinfo=UTC)  # 12pm BST, Friday 14 September 2018
    result = countdown(deadline, now)
    assert (result.text, result.urgent) == (text, urgent)
