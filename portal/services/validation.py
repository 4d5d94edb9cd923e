"""Resident ID numbers (GB 11643-1999), mainland mobile numbers and money in 分."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from portal.services.messages import N_

# Province-level codes of GB/T 2260 that start a resident ID number.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
SEPARATORS = re.compile(r"[\s\-‐－—]+")


class InvalidInput(ValueError):
    """A value a person typed or a file contained is not acceptable; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def strip_separators(value: str) -> str:
    return SEPARATORS.sub("", value or "")


def check_character(first_17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17, CHECK_WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalise_id_number(value: str, *, today: date | None = None) -> str:
    """Return the 18-character ID number with an upper-case X, or raise InvalidInput."""
    id_number = strip_separators(value).upper()
    if not id_number:
        raise InvalidInput(N_("Enter the ID card number"))
    if len(id_number) != 18:
        raise InvalidInput(N_("The ID card number must be 18 characters"))
    if not id_number[:17].isdigit() or not (id_number[17].isdigit() or id_number[17] == "X"):
        raise InvalidInput(N_("The ID card number must be 17 digits followed by a digit or X"))
    if int(id_number[:2]) not in PROVINCE_CODES:
        raise InvalidInput(N_("The ID card number does not start with a real province code"))
    birth = birth_date(id_number)
    if birth is None:
        raise InvalidInput(N_("The ID card number does not contain a real date of birth"))
    if birth > (today or date.today()) or birth.year < 1900:
        raise InvalidInput(N_("The date of birth in the ID card number cannot be right"))
    if check_character(id_number[:17]) != id_number[17]:
        raise InvalidInput(N_("The ID card number is not correct: check every digit"))
    return id_number


def birth_date(id_number: str) -> date | None:
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def mask_id_number(id_number: str | None) -> str:
    """4117**********1234: enough to recognise a number, not enough to use it."""
    if not id_number:
        return ""
    return f"{id_number[:4]}{'*' * (len(id_number) - 8)}{id_number[-4:]}"


def normalise_phone(value: str) -> str:
    """Return an 11-digit mainland mobile number, or raise InvalidInput."""
    phone = strip_separators(value)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not phone:
        raise InvalidInput(N_("Enter your mobile number"))
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        raise InvalidInput(N_("Enter a mobile number of 11 digits, like 13812345678"))
    return phone


def parse_yuan(value: str | int | float | Decimal) -> int:
    """A positive amount in yuan (at most 2 decimals) as an integer number of 分."""
    text = str(value).strip().replace(",", "").replace("，", "").removeprefix("¥").removeprefix("￥")
    if not text:
        raise InvalidInput(N_("Enter the monthly amount in yuan"))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(N_("The amount must be a number of yuan, like 3456.78")) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(N_("The amount must be more than 0 yuan"))
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InvalidInput(N_("The amount can have at most 2 decimal places"))
    return int(fen)


def format_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"
