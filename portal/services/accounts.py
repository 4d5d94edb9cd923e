"""Public accounts: registration, password sign-in with its lockout, new passwords, family members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import Account, Certification, FamilyMember, Pensioner
from portal.services.clock import SERVICE_TIMEZONE
from portal.services.messages import N_
from portal.services.validation import InvalidInput, normalise_id_number
from portal.services.verification_codes import as_utc

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 50
MAX_WRONG_PASSWORDS = 5
PASSWORD_LOCK = timedelta(minutes=15)


class PhoneAlreadyRegistered(Exception):
    def __init__(self, account: Account) -> None:
        super().__init__(f"{account.phone} is already registered")
        self.account = account


class SignInRefused(Exception):
    """Password sign-in failed; `message` (marked with N_) says why, `params` fill it in."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class NoSuchAccount(SignInRefused):
    def __init__(self) -> None:
        super().__init__(N_("There is no account with this mobile number. Check the number, or register."))


def find_account(session: Session, phone: str) -> Account | None:
    return session.scalars(select(Account).where(Account.phone == phone)).first()


def check_new_password(password: str) -> str:
    """The password as typed (never trimmed), or InvalidInput."""
    if not password:
        raise InvalidInput(N_("Set a password"))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("The password must be at least 8 characters"))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(N_("The password must be 128 characters or fewer"))
    return password


def hash_password(password: str) -> str:
    return generate_password_hash(check_new_password(password))


def normalise_name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise InvalidInput(N_("Enter your name"))
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(N_("The name must be 50 characters or fewer"))
    if any(character.isdigit() for character in name):
        raise InvalidInput(N_("Enter the name as it is on the ID card, without numbers"))
    return name


def register_account(
    session: Session,
    *,
    phone: str,
    password_hash: str,
    real_name: str,
    id_number: str,
    terms_version: str,
    terms_agreed_at: datetime,
) -> Account:
    """Create the account in one go, or raise PhoneAlreadyRegistered. The caller commits."""
    existing = find_account(session, phone)
    if existing is not None:
        raise PhoneAlreadyRegistered(existing)
    account = Account(
        phone=phone,
        password_hash=password_hash,
        real_name=normalise_name(real_name),
        id_number=normalise_id_number(id_number),
        terms_version=terms_version,
        terms_agreed_at=terms_agreed_at,
        failed_password_attempts=0,
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        # Another request registered the same phone between our check and our insert.
        session.rollback()
        existing = find_account(session, phone)
        if existing is None:
            raise
        raise PhoneAlreadyRegistered(existing) from None
    return account


def sign_in_with_password(
    session: Session, phone: str, password: str, now: datetime | None = None
) -> Account:
    """The account if the password is right, or SignInRefused. Wrong tries are counted: commit either way."""
    now = now or datetime.now(UTC)
    account = find_account(session, phone)
    if account is None:
        raise NoSuchAccount()
    if account.password_locked_until is not None and as_utc(account.password_locked_until) > now:
        raise _locked(account.password_locked_until)
    if not check_password_hash(account.password_hash, password):
        session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(failed_password_attempts=Account.failed_password_attempts + 1)
        )
        session.refresh(account)
        tries_left = MAX_WRONG_PASSWORDS - account.failed_password_attempts
        if tries_left <= 0:
            account.failed_password_attempts = 0
            account.password_locked_until = now + PASSWORD_LOCK
            session.flush()
            raise _locked(account.password_locked_until)
        raise SignInRefused(
            N_(
                "The password is not right. After %(tries)s more wrong passwords, "
                "password sign-in will be locked for 15 minutes."
            ),
            tries=tries_left,
        )
    account.failed_password_attempts = 0
    account.password_locked_until = None
    session.flush()
    return account


def _locked(until: datetime) -> SignInRefused:
    return SignInRefused(
        N_(
            "After 5 wrong passwords, password sign-in is locked until %(time)s. "
            "You can sign in with a text message code now."
        ),
        time=as_utc(until).astimezone(SERVICE_TIMEZONE).strftime("%H:%M"),
    )


def set_password(session: Session, account: Account, password_hash: str) -> None:
    """A new password (after an SMS code) also lifts any lock on password sign-in."""
    account.password_hash = password_hash
    account.failed_password_attempts = 0
    account.password_locked_until = None
    session.flush()


def own_pensioner(session: Session, account: Account) -> Pensioner | None:
    """The registry entry with this account's ID number, if the name matches it too."""
    pensioner = session.scalars(select(Pensioner).where(Pensioner.id_number == account.id_number)).first()
    if pensioner is None or pensioner.name != account.real_name:
        return None
    return pensioner


def find_pensioner(session: Session, name: str, id_number: str) -> Pensioner:
    """The registry entry matching both name and ID number, or InvalidInput (the same for either mismatch)."""
    name = normalise_name(name)
    id_number = normalise_id_number(id_number)
    pensioner = session.scalars(select(Pensioner).where(Pensioner.id_number == id_number)).first()
    if pensioner is None or pensioner.name != name:
        raise InvalidInput(
            N_(
                "There is no pensioner with this name and ID card number. "
                "Check both against the ID card, or call the business line."
            )
        )
    return pensioner


def save_family_member(session: Session, account: Account, pensioner: Pensioner) -> FamilyMember:
    """Keep a pensioner on the account's home page; saving someone twice keeps one entry."""
    if pensioner.id_number == account.id_number:
        raise InvalidInput(N_("This is your own record: it is shown at the top of your home page"))
    existing = session.scalars(
        select(FamilyMember).where(
            FamilyMember.account_id == account.id, FamilyMember.pensioner_id == pensioner.id
        )
    ).first()
    if existing is not None:
        return existing
    member = FamilyMember(account_id=account.id, pensioner_id=pensioner.id)
    session.add(member)
    session.flush()
    return member


def family_members(session: Session, account: Account) -> list[FamilyMember]:
    return list(
        session.scalars(
            select(FamilyMember)
            .options(joinedload(FamilyMember.pensioner))
            .where(FamilyMember.account_id == account.id)
            .order_by(FamilyMember.added_at, FamilyMember.id)
        )
    )


def remove_family_member(session: Session, account: Account, member_id: int) -> FamilyMember | None:
    """Remove one of this account's own saved people; someone else's entry is left alone."""
    member = session.get(FamilyMember, member_id)
    if member is None or member.account_id != account.id:
        return None
    session.delete(member)
    session.flush()
    return member


def certification_history(session: Session, account: Account) -> list[Certification]:
    """Whom this account certified (itself included), newest first."""
    return list(
        session.scalars(
            select(Certification)
            .options(joinedload(Certification.pensioner))
            .where(Certification.recorded_by == account.get_id())
            .order_by(
                Certification.certified_on.desc(), Certification.recorded_at.desc(), Certification.id.desc()
            )
        )
    )
