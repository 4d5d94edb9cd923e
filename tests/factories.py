"""Test factories with keyword defaults; they build rows the way the app's own services do."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal.models import Account, Pensioner, PensionerStatus, StaffRole, StaffUser, Unit
from portal.services.staff_accounts import create_staff_user
from portal.services.validation import check_character

_serial = itertools.count(1)


def make_id_number(
    birth: date = date(1955, 3, 7), region: str = "411702", sequence: int | None = None
) -> str:
    """A valid synthetic resident ID number (GB 11643 check digit)."""
    number = sequence if sequence is not None else next(_serial) % 1000
    first_17 = f"{region}{birth:%Y%m%d}{number:03d}"
    return first_17 + check_character(first_17)


def create_unit(session: Session, code: str | None = None, name: str = "驻马店市教育局") -> Unit:
    unit = Unit(code=code or f"U{next(_serial):04d}", name=name)
    session.add(unit)
    session.flush()
    return unit


def create_pensioner(
    session: Session,
    name: str = "张建国",
    id_number: str | None = None,
    unit: Unit | None = None,
    benefit_start: date = date(2015, 6, 1),
    cycle_start: date | None = None,
    status: PensionerStatus = PensionerStatus.ACTIVE,
    monthly_amount_fen: int = 456_789,
    phone: str | None = "13912345678",
    **fields: object,
) -> Pensioner:
    pensioner = Pensioner(
        name=name,
        id_number=id_number or make_id_number(),
        unit=unit or create_unit(session),
        benefit_start=benefit_start,
        cycle_start=cycle_start or benefit_start,
        status=status,
        monthly_amount_fen=monthly_amount_fen,
        phone=phone,
        **fields,
    )
    session.add(pensioner)
    session.flush()
    return pensioner


def create_staff(
    session: Session,
    username: str = "wang.staff",
    password: str = "correct horse battery",
    role: StaffRole = StaffRole.STAFF,
    unit: Unit | None = None,
) -> StaffUser:
    user = create_staff_user(session, username, password, role, unit_code=unit.code if unit else None)
    session.flush()
    return user


def create_account(
    session: Session,
    phone: str = "13800000001",
    password: str = "a long password",
    real_name: str = "李秀英",
    id_number: str | None = None,
    **fields: object,
) -> Account:
    account = Account(
        phone=phone,
        password_hash=generate_password_hash(password),
        real_name=real_name,
        id_number=id_number or make_id_number(),
        **fields,
    )
    session.add(account)
    session.flush()
    return account
