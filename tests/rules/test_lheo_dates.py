"""LHÉO session dates (domain.md §B; §F cases 11-12)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.problems import Code
from gateway.rules.lheo_dates import DateProblem, LheoDate, ends_before_start, parse_lheo_date

D = datetime.date


# --- §F 12: unknown, partial and impossible dates --------------------------------------------


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_case12_unknown_start_becomes_00000000(missing: str | None) -> None:
    date = parse_lheo_date(missing, is_end=False)
    assert date.text == "00000000"
    assert date.is_unknown


@pytest.mark.parametrize("missing", [None, ""])
def test_case12_unknown_end_becomes_99999999(missing: str | None) -> None:
    date = parse_lheo_date(missing, is_end=True)
    assert date.text == "99999999"
    assert date.is_unknown


def test_case12_month_only_becomes_aaaamm00() -> None:
    assert parse_lheo_date("2025-09", is_end=False).text == "20250900"
    assert parse_lheo_date("20250900", is_end=False).text == "20250900"


def test_case12_year_only_becomes_aaaa0000() -> None:
    assert parse_lheo_date("2026", is_end=True).text == "20260000"
    assert parse_lheo_date("20260000", is_end=True).text == "20260000"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025-09-01", "20250901"), ("20270630", "20270630"), (" 2024-02-29 ", "20240229")],
)
def test_case12_full_dates_accepted(value: str, expected: str) -> None:
    date = parse_lheo_date(value, is_end=False)
    assert date.text == expected
    assert not date.is_unknown


@pytest.mark.parametrize("sentinel", ["00000000", "99999999"])
def test_case12_sentinels_accepted_verbatim(sentinel: str) -> None:
    assert parse_lheo_date(sentinel, is_end=False).text == sentinel
    assert parse_lheo_date(sentinel, is_end=True).is_unknown


@pytest.mark.parametrize(
    "value",
    [
        "20251339",
        "20250231",
        "2025-02-30",
        "2025-13-01",
        "2025-01-32",
        "20250132",
        "2025-13",
        "20251300",
        "20250015",
        "2025-00-10",
        "2025-04-00",
        "2025-00",
        "20230229",
        "1899-12-31",
        "2101",
        "21010101",
        "0000",
        "00001231",
    ],
)
def test_case12_calendar_impossible_dates_rejected(value: str) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_lheo_date(value, is_end=False)
    assert caught.value.code is Code.DATE_IMPOSSIBLE


def test_case12_impossible_date_message_is_french_and_quotes_the_value() -> None:
    with pytest.raises(DateProblem) as caught:
        parse_lheo_date("2025-13-39", is_end=True)
    assert caught.value.message == "La date « 2025-13-39 » n'existe pas dans le calendrier."
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        "01/09/2025",
        "2025/09/01",
        "2025-9-1",
        "25-09-01",
        "2025-09-01T00:00:00",
        "202509",
        "2025090",
        "septembre 2025",
        "２０２５",
        "2025-09-01\n2026",
    ],
)
def test_date_format_rejected(value: str) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_lheo_date(value, is_end=False)
    assert caught.value.code is Code.DATE_FORMAT
    assert "format" in caught.value.message


def test_date_format_message_truncates_pasted_paragraphs() -> None:
    with pytest.raises(DateProblem) as caught:
        parse_lheo_date("x" * 5000, is_end=False)
    assert len(caught.value.message) < 200


def test_lheo_date_refuses_invalid_text_when_built_directly() -> None:
    with pytest.raises(DateProblem) as caught:
        LheoDate("20250231")
    assert caught.value.code is Code.DATE_IMPOSSIBLE
    with pytest.raises(DateProblem):
        LheoDate("2025-09-01")  # the ISO form is input only; LheoDate holds the 8-char form


# --- bounds --------------------------------------------------------------------------------------


def test_bounds_of_full_date() -> None:
    date = LheoDate("20250901")
    assert date.lower_bound() == D(2025, 9, 1)
    assert date.upper_bound() == D(2025, 9, 1)


def test_bounds_of_month_only_date_cover_the_month_including_leap_february() -> None:
    assert LheoDate("20240200").lower_bound() == D(2024, 2, 1)
    assert LheoDate("20240200").upper_bound() == D(2024, 2, 29)
    assert LheoDate("20250200").upper_bound() == D(2025, 2, 28)


def test_bounds_of_year_only_date_cover_the_year() -> None:
    assert LheoDate("20260000").lower_bound() == D(2026, 1, 1)
    assert LheoDate("20260000").upper_bound() == D(2026, 12, 31)


def test_bounds_of_unknown_dates_are_none() -> None:
    for text in ("00000000", "99999999"):
        assert LheoDate(text).lower_bound() is None
        assert LheoDate(text).upper_bound() is None


# --- §F 11: end before start ---------------------------------------------------------------------


def test_case11_end_before_start_detected() -> None:
    start = parse_lheo_date("2025-09-01", is_end=False)
    end = parse_lheo_date("2025-08-31", is_end=True)
    assert ends_before_start(start, end)


def test_case11_same_day_or_later_end_is_fine() -> None:
    start = parse_lheo_date("2025-09-01", is_end=False)
    assert not ends_before_start(start, parse_lheo_date("2025-09-01", is_end=True))
    assert not ends_before_start(start, parse_lheo_date("2027-06-30", is_end=True))


def test_case11_partial_dates_only_flagged_when_certainly_inverted() -> None:
    # Start "September 2025", end 15 September 2025: possible (start on the 1st..15th).
    assert not ends_before_start(LheoDate("20250900"), LheoDate("20250915"))
    # Start "2026", end "December 2025": certainly inverted.
    assert ends_before_start(LheoDate("20260000"), LheoDate("20251200"))
    # Same year on both sides is never certain.
    assert not ends_before_start(LheoDate("20250000"), LheoDate("20250000"))


def test_case11_unknown_dates_never_trigger_end_before_start() -> None:
    assert not ends_before_start(LheoDate("00000000"), LheoDate("20000101"))
    assert not ends_before_start(LheoDate("20990101"), LheoDate("99999999"))
    assert not ends_before_start(LheoDate("20990101"), LheoDate("00000000"))  # [OREOF] style end


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)))
def test_property_every_real_date_round_trips(day: datetime.date) -> None:
    date = parse_lheo_date(day.isoformat(), is_end=False)
    assert date.text == day.strftime("%Y%m%d")
    assert date.lower_bound() == date.upper_bound() == day


@given(
    st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)),
    st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)),
)
def test_property_end_before_start_matches_date_order(a: datetime.date, b: datetime.date) -> None:
    start = parse_lheo_date(a.isoformat(), is_end=False)
    end = parse_lheo_date(b.isoformat(), is_end=True)
    assert ends_before_start(start, end) == (b < a)
