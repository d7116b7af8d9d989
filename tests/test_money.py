"""Money: what people type, read as integer pence; pence shown as "£12,345.67"."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from app.forms import MoneyField, MoneyRequired
from app.money import MAX_PENCE, MoneyError, parse_pence, pence_to_input
from app.money import format_money as money


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("1250", 125_000),
        ("1,250.50", 125_050),
        ("£1,250.50", 125_050),
        (" £ 1,250.50 ", 125_050),
        ("£1250", 125_000),
        ("1250.5", 125_050),
        ("1250.05", 125_005),
        ("1250.", 125_000),
        ("0.5", 50),
        (".5", 50),
        ("0", 0),
        ("0.00", 0),
        ("000123", 12_300),
        ("1,000,000", 100_000_000),
        ("700,000", 70_000_000),
        ("1 250", 125_000),  # a space between thousands, as some people type them
        ("1 250 000.50", 125_000_050),
        ("1\u00a0250", 125_000),  # a no-break space, pasted from a spreadsheet
        ("10,000,000.00", MAX_PENCE),
        ("9,999,999.99", MAX_PENCE - 1),
    ],
)
def test_amounts_people_type_are_read_as_pence(typed, pence):
    assert parse_pence(typed) == pence


@pytest.mark.parametrize("typed", [None, "", "   ", "\t"])
def test_nothing_typed_is_none(typed):
    assert parse_pence(typed) is None


@pytest.mark.parametrize(
    "typed",
    ["abc", "£", ".", "1,2,3", "12,50", "1,2500", "1.250,50", "1e5", "0x10", "£1.2k", "1250p", "GBP 1250",
     "12.5.0", "1,250.50.1", "12 50", "1 2 5 0", "1,250 5", "٣٠٠", "１２３", "$100", "£ £100", "100£", "+100",
     "Infinity", "NaN"],
)  # fmt: skip
def test_things_that_are_not_amounts_are_refused(typed):
    with pytest.raises(MoneyError) as exc:
        parse_pence(typed, "Amount requested")
    assert exc.value.message == "Amount requested must be a number in pounds and pence, like 1,250 or 1,250.50"


@pytest.mark.parametrize("typed", ["1.234", "1,250.505", "0.001", "1.000"])
def test_more_than_two_decimal_places_is_refused(typed):
    with pytest.raises(MoneyError, match="Amount must not have more than 2 decimal places"):
        parse_pence(typed)


@pytest.mark.parametrize("typed", ["-1", "-£1,250.50", "£-5", "- 5", "- £ 5", "£ - 5", "−5", "–5", "(100)", "-0.01"])
def test_negative_amounts_are_refused(typed):
    with pytest.raises(MoneyError) as exc:
        parse_pence(typed, "Match funding")
    assert exc.value.message == "Match funding must be £0 or more"


@pytest.mark.parametrize("typed", ["10,000,000.01", "100,000,000", "£100,000,001", "99999999999999999999999"])
def test_too_large_amounts_are_refused(typed):
    with pytest.raises(MoneyError) as exc:
        parse_pence(typed)
    assert exc.value.message == "Amount must be £10,000,000.00 or less"


def test_the_maximum_can_be_lowered():
    assert parse_pence("500", maximum=500_00) == 500_00
    with pytest.raises(MoneyError, match="must be £500.00 or less"):
        parse_pence("500.01", maximum=500_00)


def test_the_largest_amount_fits_a_postgresql_integer_column():
    assert MAX_PENCE <= 2**31 - 1


@pytest.mark.parametrize(
    ("pence", "shown"),
    [
        (0, "£0.00"),
        (1, "£0.01"),
        (99, "£0.99"),
        (100, "£1.00"),
        (125_050, "£1,250.50"),
        (1_234_567, "£12,345.67"),
        (70_000_000, "£700,000.00"),
        (MAX_PENCE, "£10,000,000.00"),
        (-125_050, "-£1,250.50"),
        (None, ""),
    ],
)
def test_pence_are_shown_as_pounds_and_pence(pence, shown):
    assert money(pence) == shown


@pytest.mark.parametrize(("pence", "shown"), [(None, ""), (0, "0.00"), (125_050, "1,250.50"), (5, "0.05")])
def test_a_stored_amount_is_put_back_in_a_form_as_typed_text(pence, shown):
    assert pence_to_input(pence) == shown
    if pence is not None:
        assert parse_pence(shown) == pence  # and reads back the same


@pytest.mark.parametrize("pence", [0, 1, 10, 99, 100, 101, 99_999, 123_456_789, MAX_PENCE])
def test_showing_then_reading_back_gives_the_same_pence(pence):
    assert parse_pence(money(pence)) == pence


class _Form(Form):
    amount = MoneyField("Amount requested", validators=[MoneyRequired("Enter the amount requested")])
    match = MoneyField("Match funding (optional)", error_name="Match funding")


def test_money_field_reads_pence_and_keeps_what_was_typed():
    form = _Form(MultiDict({"amount": "£1,250.50", "match": ""}))
    assert form.validate()
    assert form.amount.data == 125_050
    assert form.match.data is None
    assert form.amount._value() == "£1,250.50"


def test_money_field_error_names_the_field_and_keeps_the_input():
    form = _Form(MultiDict({"amount": "twelve", "match": "-3"}))
    assert not form.validate()
    assert form.amount.errors == ["Amount requested must be a number in pounds and pence, like 1,250 or 1,250.50"]
    assert form.match.errors == ["Match funding must be £0 or more"]
    assert form.amount._value() == "twelve"
    assert form.amount.data is None


@pytest.mark.parametrize("typed", ["", "   "])
def test_money_field_required_says_enter(typed):
    form = _Form(MultiDict({"amount": typed}))
    assert not form.validate()
    assert form.amount.errors == ["Enter the amount requested"]


def test_money_field_shows_stored_pence_for_editing():
    form = _Form(amount=70_000_000)
    assert form.amount._value() == "700,000.00"
