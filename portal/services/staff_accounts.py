"""Back-office users: password plus a TOTP second factor, and the roles that limit what they see."""

from __future__ import annotations

from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import StaffRole, StaffUser, Unit
from portal.services.messages import N_
from portal.services.validation import InvalidInput

MINIMUM_PASSWORD_LENGTH = 10
# A dummy hash to compare against when the username is unknown, so timing does not reveal which usernames exist.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-real-password")


def create_staff_user(
    session: Session,
    username: str,
    password: str,
    role: StaffRole,
    display_name: str | None = None,
    unit_code: str | None = None,
) -> StaffUser:
    username = username.strip().lower()
    if not username:
        raise InvalidInput(N_("Enter a username"))
    if session.scalar(select(StaffUser).where(StaffUser.username == username)) is not None:
        raise InvalidInput(N_("That username is already taken"))
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise InvalidInput(N_("Staff passwords must be at least 10 characters"))
    unit = None
    if role is StaffRole.UNIT:
        if not unit_code:
            raise InvalidInput(N_("A unit clerk needs the code of their unit"))
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise InvalidInput(N_("There is no unit with that code"))
    user = StaffUser(
        username=username,
        password_hash=generate_password_hash(password),
        display_name=display_name or username,
        role=role,
        unit=unit,
        totp_secret=pyotp.random_base32(),
    )
    session.add(user)
    return user


def check_staff_password(session: Session, username: str, password: str) -> StaffUser | None:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or not user.is_active:
        check_password_hash(_UNKNOWN_USER_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def check_second_factor(user: StaffUser, code: str, now: datetime) -> bool:
    """A TOTP code from the user's authenticator app; one 30-second step of clock drift is allowed."""
    if not user.totp_secret:
        return False
    code = "".join(code.split())
    return code.isdigit() and pyotp.TOTP(user.totp_secret).verify(code, for_time=now, valid_window=1)


def provisioning_uri(user: StaffUser) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.username, issuer_name="资格认证服务平台"
    )
