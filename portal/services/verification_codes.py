"""6-digit codes texted to a phone: registration, sign-in without a password, forgotten passwords.

A code is valid for 5 minutes and once; 5 wrong tries spend it; a new one can be had 60 seconds after the
last one, and at most 10 a day (Asia/Shanghai calendar day) go to one phone. Only the newest code for a
phone and purpose counts. Codes are stored as scrypt hashes: a leaked table does not give them away
within their 5 minutes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import CodePurpose, VerificationCode
from portal.services.clock import SERVICE_TIMEZONE
from portal.services.messages import N_
from portal.services.sms import SmsBackend, send_sms

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_WRONG_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
CODES_PER_PHONE_PER_DAY = 10


class CodeRefused(Exception):
    """A code cannot be sent or accepted; `message` (marked with N_) says why, `params` fill it in."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class ResendTooSoon(CodeRefused):
    def __init__(self, seconds_left: int) -> None:
        super().__init__(N_("You can get a new code in %(seconds)s seconds"), seconds=seconds_left)
        self.seconds_left = seconds_left


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: every stored moment is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_code(session: Session, phone: str, purpose: CodePurpose | None = None) -> VerificationCode | None:
    query = select(VerificationCode).where(VerificationCode.phone == phone)
    if purpose is not None:
        query = query.where(VerificationCode.purpose == purpose)
    return session.scalars(query.order_by(VerificationCode.created_at.desc()).limit(1)).first()


def seconds_until_resend(session: Session, phone: str, now: datetime) -> int:
    """Whole seconds before another code may go to this phone; 0 when one may go now."""
    latest = latest_code(session, phone)
    if latest is None:
        return 0
    wait = as_utc(latest.created_at) + RESEND_AFTER - now
    return max(0, int(wait.total_seconds() + 0.999))


def codes_sent_today(session: Session, phone: str, now: datetime) -> int:
    local_midnight = datetime.combine(now.astimezone(SERVICE_TIMEZONE).date(), time(), SERVICE_TIMEZONE)
    return session.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.created_at >= local_midnight.astimezone(UTC))
    )


def issue_code(
    session: Session,
    backend: SmsBackend,
    phone: str,
    purpose: CodePurpose,
    compose: Callable[[str], str],
    *,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> VerificationCode:
    """Create a code and text it; `compose` turns the code into the text. The caller commits."""
    now = now or datetime.now(UTC)
    wait = seconds_until_resend(session, phone, now)
    if wait:
        raise ResendTooSoon(wait)
    if codes_sent_today(session, phone, now) >= CODES_PER_PHONE_PER_DAY:
        raise CodeRefused(
            N_("We have already sent %(count)s codes to this number today. Try again tomorrow."),
            count=CODES_PER_PHONE_PER_DAY,
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    record = VerificationCode(
        phone=phone,
        purpose=purpose,
        code_hash=generate_password_hash(code),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        failed_attempts=0,
        ip_address=ip_address,
    )
    session.add(record)
    text = send_sms(session, backend, phone, compose(code), "verification_code")
    if text.status == "failed":
        # A code nobody received must not hold up the next one; the failed text stays on record.
        session.flush()
        session.delete(record)
        session.flush()
        raise CodeRefused(
            N_("We could not send the text message. Try again in a few minutes, or call the business line.")
        )
    session.flush()
    return record


def normalise_code(value: str) -> str:
    code = "".join((value or "").split()).replace("-", "")
    if not code:
        raise CodeRefused(N_("Enter the verification code"))
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        raise CodeRefused(N_("Enter the 6-digit code from the text message"))
    return code


def check_code(
    session: Session, phone: str, purpose: CodePurpose, entered: str, *, now: datetime | None = None
) -> VerificationCode:
    """Accept the newest code for this phone and purpose once, or raise CodeRefused.

    A wrong try is counted in the database before the refusal is raised: the caller must commit either way.
    """
    now = now or datetime.now(UTC)
    code = normalise_code(entered)
    record = latest_code(session, phone, purpose)
    if record is None:
        raise CodeRefused(N_("Get a verification code first"))
    if record.used_at is not None:
        raise CodeRefused(N_("This code has already been used. Get a new code."))
    if record.failed_attempts >= MAX_WRONG_TRIES:
        raise CodeRefused(
            N_("You have entered a wrong code %(tries)s times. Get a new code."), tries=MAX_WRONG_TRIES
        )
    if now > as_utc(record.expires_at):
        raise CodeRefused(N_("This code has expired: codes are valid for 5 minutes. Get a new code."))
    if not check_password_hash(record.code_hash, code):
        # Counted in SQL so that simultaneous wrong tries cannot slip past the limit.
        session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == record.id)
            .values(failed_attempts=VerificationCode.failed_attempts + 1)
        )
        session.refresh(record)
        tries_left = MAX_WRONG_TRIES - record.failed_attempts
        if tries_left <= 0:
            raise CodeRefused(
                N_("The code is not right, and that was the last of %(tries)s tries. Get a new code."),
                tries=MAX_WRONG_TRIES,
            )
        raise CodeRefused(N_("The code is not right. You can try %(tries)s more times."), tries=tries_left)
    # Only one of two simultaneous right answers may use the code.
    used = session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == record.id, VerificationCode.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise CodeRefused(N_("This code has already been used. Get a new code."))
    session.refresh(record)
    return record
