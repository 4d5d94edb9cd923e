from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from portal.models import Account, Certification, CertificationMethod, FamilyMember
from portal.services.accounts import (
    PhoneAlreadyRegistered,
    SignInRefused,
    certification_history,
    check_new_password,
    family_members,
    find_pensioner,
    hash_password,
    normalise_name,
    own_pensioner,
    register_account,
    remove_family_member,
    save_family_member,
    set_password,
    sign_in_with_password,
)
from portal.services.validation import InvalidInput
from tests.factories import create_account, create_pensioner, make_id_number

# 10:00 in Shanghai.
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def register(session, phone: str = "13812345678", **fields: object) -> Account:
    values = {
        "phone": phone,
        "password_hash": hash_password("a long password"),
        "real_name": "王 秀兰",
        "id_number": make_id_number(),
        "terms_version": "2026-12",
        "terms_agreed_at": NOW,
    }
    values.update(fields)
    account = register_account(session, **values)
    session.commit()
    return account


def test_register_stores_a_password_hash_and_the_terms_agreed(session):
    id_number = make_id_number(sequence=123)
    account = register(
        session, id_number=f" {id_number[:6]}-{id_number[6:14]} {id_number[14:]} ", real_name=" 王秀兰 "
    )
    stored = session.get(Account, account.id)
    assert stored.phone == "13812345678"
    assert stored.id_number == id_number
    assert stored.real_name == "王秀兰"
    assert check_password_hash(stored.password_hash, "a long password")
    assert "a long password" not in stored.password_hash
    assert stored.terms_version == "2026-12"
    assert stored.terms_agreed_at.replace(tzinfo=UTC) == NOW


def test_a_phone_registers_only_once(session):
    first = register(session)
    with pytest.raises(PhoneAlreadyRegistered) as taken:
        register(session)
    assert taken.value.account.id == first.id
    assert len(session.scalars(select(Account)).all()) == 1


def test_registering_a_bad_id_number_creates_nothing(session):
    good = make_id_number()
    wrong_check_digit = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidInput) as refused:
        register(session, id_number=wrong_check_digit)
    assert refused.value.message == "The ID card number is not correct: check every digit"
    session.rollback()
    assert session.scalars(select(Account)).all() == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Set a password"),
        ("short12", "The password must be at least 8 characters"),
        ("x" * 129, "The password must be 128 characters or fewer"),
    ],
)
def test_new_passwords_must_be_long_enough(password, message):
    with pytest.raises(InvalidInput) as refused:
        check_new_password(password)
    assert refused.value.message == message


def test_a_password_is_never_trimmed():
    assert check_new_password("  spaced  ") == "  spaced  "


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("王秀兰", "王秀兰"), ("  买买提·艾力 ", "买买提·艾力"), ("Li   Xiuying", "Li Xiuying")],
)
def test_names_are_tidied(typed, expected):
    assert normalise_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("  ", "Enter your name"),
        ("王" * 51, "The name must be 50 characters or fewer"),
        ("王秀兰2", "Enter the name as it is on the ID card, without numbers"),
    ],
)
def test_bad_names_are_refused(typed, message):
    with pytest.raises(InvalidInput) as refused:
        normalise_name(typed)
    assert refused.value.message == message


def test_the_right_password_signs_in_and_clears_wrong_tries(session):
    account = create_account(session, password="a long password", failed_password_attempts=3)
    session.commit()
    assert sign_in_with_password(session, account.phone, "a long password", NOW).id == account.id
    assert account.failed_password_attempts == 0


def test_an_unknown_phone_is_told_to_register(session):
    with pytest.raises(SignInRefused) as refused:
        sign_in_with_password(session, "13999999999", "whatever", NOW)
    assert "register" in refused.value.message


def test_five_wrong_passwords_lock_password_sign_in_for_fifteen_minutes(session):
    account = create_account(session, password="a long password")
    session.commit()
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(SignInRefused) as refused:
            sign_in_with_password(session, account.phone, "wrong password", NOW)
        session.commit()
        assert refused.value.params == {"tries": tries_left}
    with pytest.raises(SignInRefused) as refused:
        sign_in_with_password(session, account.phone, "wrong password", NOW)
    session.commit()
    # Locked until 10:15 Shanghai time, even with the right password.
    assert refused.value.params == {"time": "10:15"}
    with pytest.raises(SignInRefused) as refused:
        sign_in_with_password(session, account.phone, "a long password", NOW + timedelta(minutes=14))
    assert refused.value.params == {"time": "10:15"}
    assert sign_in_with_password(
        session, account.phone, "a long password", NOW + timedelta(minutes=15, seconds=1)
    )


def test_a_new_password_lifts_the_lock(session):
    account = create_account(session, password_locked_until=NOW + timedelta(minutes=10))
    set_password(session, account, hash_password("another long password"))
    session.commit()
    assert sign_in_with_password(session, account.phone, "another long password", NOW).id == account.id


def test_own_pensioner_needs_both_id_number_and_name(session):
    pensioner = create_pensioner(session, name="王秀兰")
    mine = create_account(session, phone="13800000001", real_name="王秀兰", id_number=pensioner.id_number)
    impostor = create_account(session, phone="13800000002", real_name="李四", id_number=pensioner.id_number)
    stranger = create_account(session, phone="13800000003", real_name="王秀兰")
    assert own_pensioner(session, mine) is pensioner
    assert own_pensioner(session, impostor) is None
    assert own_pensioner(session, stranger) is None


def test_find_pensioner_gives_the_same_answer_for_a_wrong_name_or_number(session):
    pensioner = create_pensioner(session, name="张建国")
    assert find_pensioner(session, " 张建国 ", pensioner.id_number.lower()) is pensioner
    with pytest.raises(InvalidInput) as wrong_name:
        find_pensioner(session, "张建军", pensioner.id_number)
    with pytest.raises(InvalidInput) as unknown:
        find_pensioner(session, "张建国", make_id_number())
    assert wrong_name.value.message == unknown.value.message


def test_family_members_are_saved_once_listed_and_removed_only_by_their_account(session):
    mother = create_pensioner(session, name="张建国")
    father = create_pensioner(session, name="李桂兰")
    account = create_account(session, phone="13800000001")
    other = create_account(session, phone="13800000002")
    first = save_family_member(session, account, mother)
    assert save_family_member(session, account, mother).id == first.id
    save_family_member(session, account, father)
    save_family_member(session, other, mother)
    session.commit()
    assert [member.pensioner.name for member in family_members(session, account)] == ["张建国", "李桂兰"]
    assert remove_family_member(session, other, first.id) is None
    assert remove_family_member(session, account, first.id) is not None
    session.commit()
    assert [member.pensioner.name for member in family_members(session, account)] == ["李桂兰"]
    assert len(session.scalars(select(FamilyMember)).all()) == 2


def test_an_account_cannot_save_itself_as_a_family_member(session):
    pensioner = create_pensioner(session)
    account = create_account(session, id_number=pensioner.id_number, real_name=pensioner.name)
    with pytest.raises(InvalidInput):
        save_family_member(session, account, pensioner)


def test_history_lists_whom_the_account_certified_newest_first(session):
    account = create_account(session)
    mother = create_pensioner(session, name="张建国")
    father = create_pensioner(session, name="李桂兰")
    # Recorded in one batch (as an import or the demo data does): the date certified decides the order.
    recorded_at = datetime(2026, 6, 2, tzinfo=UTC)
    for pensioner, day, recorded_by in [
        (mother, date(2026, 3, 1), account.get_id()),
        (father, date(2026, 5, 1), account.get_id()),
        (mother, date(2026, 4, 1), account.get_id()),
        (father, date(2026, 6, 1), "staff:1"),
    ]:
        session.add(
            Certification(
                pensioner_id=pensioner.id,
                certified_on=day,
                method=CertificationMethod.OTHER,
                recorded_by=recorded_by,
                recorded_at=recorded_at,
            )
        )
    session.commit()
    history = certification_history(session, account)
    assert [(row.pensioner.name, row.certified_on) for row in history] == [
        ("李桂兰", date(2026, 5, 1)),
        ("张建国", date(2026, 4, 1)),
        ("张建国", date(2026, 3, 1)),
    ]
