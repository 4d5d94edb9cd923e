from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import CodePurpose, SmsMessage, VerificationCode
from portal.services.sms import OutboxBackend
from portal.services.verification_codes import (
    CodeRefused,
    ResendTooSoon,
    check_code,
    issue_code,
    normalise_code,
    seconds_until_resend,
)

PHONE = "13812345678"
# 10:00 in Shanghai.
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def compose(code: str) -> str:
    return f"验证码：{code}，5分钟内有效。"


def issue(
    session, phone: str = PHONE, purpose: CodePurpose = CodePurpose.REGISTER, now: datetime = NOW
) -> str:
    """Issue a code and return the digits, read back from the outbox like a person reads the text."""
    issue_code(session, OutboxBackend(), phone, purpose, compose, ip_address="127.0.0.1", now=now)
    session.commit()
    text = session.scalars(select(SmsMessage).order_by(SmsMessage.id.desc())).first()
    return re.search(r"\d{6}", text.body).group()


def test_a_code_is_six_digits_texted_to_the_phone_and_stored_only_as_a_hash(session):
    code = issue(session)
    record = session.scalars(select(VerificationCode)).one()
    text = session.scalars(select(SmsMessage)).one()
    assert re.fullmatch(r"\d{6}", code)
    assert text.phone == PHONE and text.purpose == "verification_code" and text.status == "stored"
    assert code not in record.code_hash and record.code_hash.startswith("scrypt:")
    assert record.ip_address == "127.0.0.1"
    assert record.expires_at.replace(tzinfo=UTC) == NOW + timedelta(minutes=5)


def test_the_right_code_is_accepted_once(session):
    code = issue(session)
    check_code(session, PHONE, CodePurpose.REGISTER, code, now=NOW + timedelta(minutes=1))
    session.commit()
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.REGISTER, code, now=NOW + timedelta(minutes=2))
    assert refused.value.message == "This code has already been used. Get a new code."


@pytest.mark.parametrize("typed", ["{code}", " {spaced} ", "{dashed}"])
def test_spaces_and_hyphens_in_the_code_are_ignored(session, typed):
    code = issue(session)
    entered = typed.format(code=code, spaced=f"{code[:3]} {code[3:]}", dashed=f"{code[:3]}-{code[3:]}")
    assert check_code(session, PHONE, CodePurpose.REGISTER, entered, now=NOW).used_at is not None


def test_a_code_is_valid_for_five_minutes(session):
    code = issue(session)
    assert check_code(session, PHONE, CodePurpose.REGISTER, code, now=NOW + timedelta(minutes=5)).used_at


def test_an_expired_code_is_refused(session):
    code = issue(session)
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.REGISTER, code, now=NOW + timedelta(minutes=5, seconds=1))
    assert refused.value.message == "This code has expired: codes are valid for 5 minutes. Get a new code."


def test_wrong_tries_are_counted_and_the_fifth_spends_the_code(session):
    code = issue(session)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(CodeRefused) as refused:
            check_code(session, PHONE, CodePurpose.REGISTER, wrong, now=NOW)
        session.commit()
        assert refused.value.params == {"tries": tries_left}
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.REGISTER, wrong, now=NOW)
    session.commit()
    assert "last of %(tries)s tries" in refused.value.message
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.REGISTER, code, now=NOW)
    assert refused.value.message == "You have entered a wrong code %(tries)s times. Get a new code."
    assert session.scalars(select(VerificationCode)).one().used_at is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the verification code"),
        ("12345", "Enter the 6-digit code from the text message"),
        ("1234567", "Enter the 6-digit code from the text message"),
        ("12345a", "Enter the 6-digit code from the text message"),
        ("１２３４５６", "Enter the 6-digit code from the text message"),
    ],
)
def test_malformed_codes_are_refused_without_using_a_try(session, typed, message):
    issue(session)
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.REGISTER, typed, now=NOW)
    assert refused.value.message == message
    assert session.scalars(select(VerificationCode)).one().failed_attempts == 0


def test_normalise_code_keeps_the_digits():
    assert normalise_code("123 456") == "123456"


def test_a_new_code_can_be_had_only_after_sixty_seconds(session):
    issue(session)
    with pytest.raises(ResendTooSoon) as refused:
        issue(session, now=NOW + timedelta(seconds=18))
    assert refused.value.seconds_left == 42
    assert refused.value.params == {"seconds": 42}
    assert seconds_until_resend(session, PHONE, NOW + timedelta(seconds=59, milliseconds=500)) == 1
    assert seconds_until_resend(session, PHONE, NOW + timedelta(seconds=60)) == 0
    issue(session, now=NOW + timedelta(seconds=60))


def test_only_the_newest_code_counts(session):
    first = issue(session)
    second = issue(session, now=NOW + timedelta(minutes=1))
    if first != second:
        with pytest.raises(CodeRefused):
            check_code(session, PHONE, CodePurpose.REGISTER, first, now=NOW + timedelta(minutes=2))
        session.commit()
    check_code(session, PHONE, CodePurpose.REGISTER, second, now=NOW + timedelta(minutes=2))


def test_a_code_is_good_only_for_its_purpose(session):
    code = issue(session, purpose=CodePurpose.SIGN_IN)
    with pytest.raises(CodeRefused) as refused:
        check_code(session, PHONE, CodePurpose.RESET_PASSWORD, code, now=NOW)
    assert refused.value.message == "Get a verification code first"


def test_at_most_ten_codes_a_day_go_to_one_phone(session):
    for minute in range(10):
        issue(session, now=NOW + timedelta(minutes=minute))
    with pytest.raises(CodeRefused) as refused:
        issue(session, now=NOW + timedelta(minutes=20))
    assert refused.value.params == {"count": 10}
    assert len(session.scalars(select(SmsMessage)).all()) == 10
    # Another phone is not affected, and the count starts again at local midnight (16:00 UTC).
    issue(session, phone="13900000000", now=NOW + timedelta(minutes=21))
    issue(session, now=datetime(2027, 3, 1, 16, 0, tzinfo=UTC))


def test_the_daily_count_follows_the_shanghai_calendar_day(session):
    # 23:30 on 28 February in Shanghai: yesterday's codes do not count against 1 March.
    for minute in range(10):
        issue(session, now=datetime(2027, 2, 28, 15, 30, tzinfo=UTC) + timedelta(minutes=minute * 2))
    issue(session, now=datetime(2027, 2, 28, 16, 1, tzinfo=UTC))


class UnreachableGateway:
    """A gateway that is down: every text fails, as HttpGatewayBackend marks them."""

    name = "http"

    def deliver(self, message: SmsMessage) -> None:
        message.status = "failed"


def test_a_code_that_could_not_be_texted_is_not_kept_and_does_not_hold_up_the_next(session):
    with pytest.raises(CodeRefused) as refused:
        issue_code(session, UnreachableGateway(), PHONE, CodePurpose.REGISTER, compose, now=NOW)
    session.commit()
    assert refused.value.message.startswith("We could not send the text message")
    assert session.scalars(select(VerificationCode)).all() == []
    assert [text.status for text in session.scalars(select(SmsMessage))] == ["failed"]
    assert seconds_until_resend(session, PHONE, NOW) == 0
    issue(session, now=NOW + timedelta(seconds=1))
