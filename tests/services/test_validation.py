from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.services.validation import (
    InvalidInput,
    check_character,
    format_yuan,
    mask_id_number,
    normalise_id_number,
    normalise_phone,
    parse_yuan,
)
from tests.factories import make_id_number

TODAY = date(2026, 12, 4)
# A published example number (GB 11643 appendix style): Beijing, born 1949-12-31, check digit X.
VALID_WITH_X = "11010519491231002X"


def test_a_real_id_number_is_accepted():
    assert normalise_id_number(VALID_WITH_X, today=TODAY) == VALID_WITH_X


@pytest.mark.parametrize("typed", ["11010519491231002x", " 110105 19491231 002X ", "110105-19491231-002X"])
def test_lower_case_x_spaces_and_hyphens_are_accepted(typed):
    assert normalise_id_number(typed, today=TODAY) == VALID_WITH_X


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the ID card number"),
        ("1101051949123100", "The ID card number must be 18 characters"),
        ("11010519491231002Y", "The ID card number must be 17 digits followed by a digit or X"),
        ("99010519491231002X", "The ID card number does not start with a real province code"),
        ("110105194902300026", "The ID card number does not contain a real date of birth"),
        ("110105194912310021", "The ID card number is not correct: check every digit"),
    ],
)
def test_bad_id_numbers_say_what_is_wrong(typed, message):
    with pytest.raises(InvalidInput) as problem:
        normalise_id_number(typed, today=TODAY)
    assert problem.value.message == message


def test_a_birth_date_in_the_future_is_refused():
    future = make_id_number(birth=date(2027, 1, 1))
    with pytest.raises(InvalidInput) as problem:
        normalise_id_number(future, today=TODAY)
    assert problem.value.message == "The date of birth in the ID card number cannot be right"


@given(
    birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2000, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_digit_is_caught(birth, sequence, position, shift):
    number = make_id_number(birth=birth, sequence=sequence)
    assert normalise_id_number(number, today=TODAY) == number
    digits = list(number)
    digits[position] = str((int(digits[position]) + shift) % 10)
    changed = "".join(digits)
    # The change may also break the province or the date; either way the number must be refused.
    with pytest.raises(InvalidInput):
        normalise_id_number(changed, today=TODAY)


def test_check_character_matches_the_standard_weights():
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


def test_id_numbers_are_masked_to_the_first_and_last_four():
    assert mask_id_number(VALID_WITH_X) == "1101**********002X"
    assert mask_id_number(None) == ""


@pytest.mark.parametrize(
    ("typed", "phone"),
    [("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678")],
)
def test_mobile_numbers_are_normalised(typed, phone):
    assert normalise_phone(typed) == phone


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your mobile number"),
        ("1381234567", "Enter a mobile number of 11 digits, like 13812345678"),
        ("12812345678", "Enter a mobile number of 11 digits, like 13812345678"),
        ("0396-2693828", "Enter a mobile number of 11 digits, like 13812345678"),
    ],
)
def test_bad_mobile_numbers_are_refused(typed, message):
    with pytest.raises(InvalidInput) as problem:
        normalise_phone(typed)
    assert problem.value.message == message


@pytest.mark.parametrize(
    ("typed", "fen"), [("3456.78", 345678), ("3,456.7", 345670), ("¥100", 10000), (2500, 250000)]
)
def test_yuan_become_fen(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the monthly amount in yuan"),
        ("three thousand", "The amount must be a number of yuan, like 3456.78"),
        ("0", "The amount must be more than 0 yuan"),
        ("-5", "The amount must be more than 0 yuan"),
        ("NaN", "The amount must be more than 0 yuan"),
        ("12.345", "The amount can have at most 2 decimal places"),
    ],
)
def test_bad_amounts_are_refused(typed, message):
    with pytest.raises(InvalidInput) as problem:
        parse_yuan(typed)
    assert problem.value.message == message


def test_fen_are_shown_as_yuan():
    assert format_yuan(345678) == "3,456.78"
    assert format_yuan(-5) == "-0.05"
