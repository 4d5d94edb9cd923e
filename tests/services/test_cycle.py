from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import (
    Certification,
    CertificationMethod,
    OfflineChannel,
    PensionerStatus,
    Suspension,
)
from portal.services.cycle import (
    cycle_status,
    due_date,
    is_overdue,
    next_month,
    record_certification,
    status_in_words,
)
from portal.services.cycle_texts import chinese_date, chinese_month
from portal.services.validation import InvalidInput
from tests.databases import BOTH_DATABASES
from tests.factories import create_pensioner


@pytest.mark.parametrize(
    ("certified_on", "due"),
    [
        # 365 calendar days, not "the same date next year".
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2023, 3, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2025, 3, 1)),
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2025, 12, 31), date(2026, 12, 31)),
        (date(2027, 3, 1), date(2028, 2, 29)),
    ],
)
def test_due_date_is_365_calendar_days_after_the_cycle_start(certified_on, due):
    assert due_date(certified_on, 365) == due


def test_overdue_only_from_the_day_after_the_due_date():
    start = date(2024, 2, 29)
    assert not is_overdue(start, date(2025, 2, 28), 365)
    assert is_overdue(start, date(2025, 3, 1), 365)


@pytest.mark.parametrize(
    ("day", "first_of_next"),
    [
        (date(2025, 1, 31), date(2025, 2, 1)),
        (date(2024, 2, 29), date(2024, 3, 1)),
        (date(2025, 12, 1), date(2026, 1, 1)),
        (date(2025, 12, 31), date(2026, 1, 1)),
    ],
)
def test_next_month_is_the_first_day_of_the_following_month(day, first_of_next):
    assert next_month(day) == first_of_next


@BOTH_DATABASES
def test_certification_appends_to_the_ledger_and_moves_the_cycle(session):
    pensioner = create_pensioner(session, cycle_start=date(2025, 3, 1))
    outcome = record_certification(
        session,
        pensioner,
        date(2025, 11, 20),
        CertificationMethod.SELF,
        "account:7",
        today=date(2025, 11, 20),
    )
    session.commit()
    assert outcome.cycle_moved and not outcome.resumed
    assert outcome.due_date == date(2026, 11, 20)
    assert pensioner.cycle_start == date(2025, 11, 20)
    ledger = session.scalars(select(Certification)).all()
    assert [(entry.certified_on, entry.method, entry.recorded_by) for entry in ledger] == [
        (date(2025, 11, 20), CertificationMethod.SELF, "account:7")
    ]


@BOTH_DATABASES
def test_an_earlier_certification_is_recorded_without_moving_the_cycle(session):
    pensioner = create_pensioner(session, cycle_start=date(2025, 11, 20))
    outcome = record_certification(
        session,
        pensioner,
        date(2025, 11, 10),
        CertificationMethod.OFFLINE,
        "staff:2",
        "上门认证，本人在家",
        today=date(2025, 11, 25),
        channel=OfflineChannel.HOME_VISIT,
    )
    assert not outcome.cycle_moved
    assert pensioner.cycle_start == date(2025, 11, 20)
    assert session.scalar(select(Certification.channel)) is OfflineChannel.HOME_VISIT


@BOTH_DATABASES
def test_success_while_suspended_resumes_from_the_month_after_it_was_recorded(session):
    pensioner = create_pensioner(
        session,
        cycle_start=date(2024, 1, 10),
        status=PensionerStatus.SUSPENDED,
        suspended_on=date(2025, 1, 12),
    )
    session.add(Suspension(pensioner_id=pensioner.id, suspended_on=date(2025, 1, 12)))
    # Seen at home on 30 March, recorded on 2 April: payment resumes in May, not April.
    outcome = record_certification(
        session,
        pensioner,
        date(2025, 3, 30),
        CertificationMethod.OFFLINE,
        "staff:2",
        "视频认证",
        today=date(2025, 4, 2),
        channel=OfflineChannel.VIDEO,
    )
    session.commit()
    assert outcome.resumed
    assert pensioner.status is PensionerStatus.ACTIVE
    assert pensioner.resume_from == outcome.resume_from == date(2025, 5, 1)
    suspension = session.scalar(select(Suspension))
    assert (suspension.resumed_on, suspension.resume_from) == (date(2025, 4, 2), date(2025, 5, 1))


@BOTH_DATABASES
def test_success_in_december_resumes_in_january(session):
    pensioner = create_pensioner(
        session,
        cycle_start=date(2024, 1, 10),
        status=PensionerStatus.SUSPENDED,
        suspended_on=date(2025, 1, 12),
    )
    outcome = record_certification(
        session,
        pensioner,
        date(2025, 12, 31),
        CertificationMethod.SELF,
        "account:1",
        today=date(2025, 12, 31),
    )
    assert outcome.resume_from == date(2026, 1, 1)


@BOTH_DATABASES
def test_terminated_pensioner_cannot_be_certified(session):
    pensioner = create_pensioner(session, status=PensionerStatus.TERMINATED, terminated_on=date(2025, 2, 3))
    with pytest.raises(InvalidInput, match="ended"):
        record_certification(
            session,
            pensioner,
            date(2025, 3, 1),
            CertificationMethod.SELF,
            "account:1",
            today=date(2025, 3, 1),
        )
    assert session.scalars(select(Certification)).all() == []


@pytest.mark.parametrize(
    ("on", "note", "channel", "message"),
    [
        (date(2025, 3, 31), "上门", OfflineChannel.HOME_VISIT, "at most 30 days back"),
        (date(2025, 5, 2), "上门", OfflineChannel.HOME_VISIT, "cannot be in the future"),
        (date(2025, 4, 20), "   ", OfflineChannel.COUNTER, "Enter a note"),
        (date(2025, 4, 20), "上门", None, "Choose how the person was seen"),
    ],
)
@BOTH_DATABASES
def test_offline_certification_rules(session, on, note, channel, message):
    pensioner = create_pensioner(session, cycle_start=date(2024, 6, 1))
    with pytest.raises(InvalidInput, match=message):
        record_certification(
            session,
            pensioner,
            on,
            CertificationMethod.OFFLINE,
            "staff:1",
            note,
            today=date(2025, 5, 1),
            channel=channel,
        )
    session.rollback()
    assert session.scalars(select(Certification)).all() == []


@BOTH_DATABASES
def test_offline_certification_may_be_exactly_30_days_back(session):
    pensioner = create_pensioner(session, cycle_start=date(2024, 6, 1))
    outcome = record_certification(
        session,
        pensioner,
        date(2025, 4, 1),
        CertificationMethod.OFFLINE,
        "staff:1",
        "窗口认证",
        today=date(2025, 5, 1),
        channel=OfflineChannel.COUNTER,
    )
    assert outcome.due_date == date(2026, 4, 1)


@BOTH_DATABASES
def test_old_evidence_does_not_resume_someone_it_leaves_overdue(session):
    pensioner = create_pensioner(
        session, cycle_start=date(2023, 1, 1), status=PensionerStatus.SUSPENDED, suspended_on=date(2024, 1, 2)
    )
    outcome = record_certification(
        session, pensioner, date(2024, 3, 1), CertificationMethod.DATA, "医保", today=date(2025, 6, 1)
    )
    assert outcome.cycle_moved and not outcome.resumed
    assert pensioner.status is PensionerStatus.SUSPENDED


def words(status) -> str:
    return status_in_words(status, lambda message: message, chinese_date, chinese_month)


@pytest.mark.parametrize(
    ("fields", "today", "state", "text"),
    [
        ({"cycle_start": date(2025, 3, 1)}, date(2025, 12, 4), "current", "2026年3月1日: 87 days left"),
        ({"cycle_start": date(2025, 3, 1)}, date(2026, 2, 28), "current", "2026年3月1日: 1 day left"),
        ({"cycle_start": date(2025, 3, 1)}, date(2026, 3, 1), "due_today", "runs out today, 2026年3月1日"),
        ({"cycle_start": date(2025, 3, 1)}, date(2026, 3, 2), "overdue", "ran out on 2026年3月1日"),
        (
            {
                "cycle_start": date(2025, 3, 1),
                "status": PensionerStatus.SUSPENDED,
                "suspended_on": date(2026, 3, 2),
            },
            date(2026, 4, 9),
            "suspended",
            "suspended since 2026年3月2日 because certification ran out on 2026年3月1日",
        ),
        (
            {"cycle_start": date(2026, 4, 10), "resume_from": date(2026, 5, 1)},
            date(2026, 4, 10),
            "current",
            "Payment resumes from 2026年5月",
        ),
        (
            {"status": PensionerStatus.TERMINATED, "terminated_on": date(2026, 1, 5)},
            date(2026, 4, 9),
            "terminated",
            "died on 2026年1月5日",
        ),
    ],
)
def test_status_in_plain_words(session, fields, today, state, text):
    pensioner = create_pensioner(session, **fields)
    status = cycle_status(pensioner, today, 365)
    assert status.state == state
    assert text in words(status)


def test_status_words_are_translated(app, session):
    from flask_babel import force_locale, gettext

    from portal.templating import long_date, year_month

    pensioner = create_pensioner(session, cycle_start=date(2025, 3, 1))
    status = cycle_status(pensioner, date(2025, 12, 4), 365)
    with app.test_request_context(), force_locale("zh_CN"):
        assert (
            status_in_words(status, gettext, long_date, year_month) == "认证有效期至 2026年3月1日，还有 87 天"
        )


@BOTH_DATABASES
def test_status_counts_split_active_pensioners_by_how_soon_they_are_due(session):
    from portal.services.cycle import status_counts
    from tests.factories import create_unit

    today = date(2026, 12, 4)
    unit = create_unit(session, code="ZMD001")
    other_unit = create_unit(session, code="ZMD002")
    for days_ago, status in [
        (10, PensionerStatus.ACTIVE),  # due in 355 days
        (335, PensionerStatus.ACTIVE),  # due in 30 days: soon
        (365, PensionerStatus.ACTIVE),  # due today: soon
        (366, PensionerStatus.ACTIVE),  # overdue, not yet suspended
        (400, PensionerStatus.SUSPENDED),
        (50, PensionerStatus.TERMINATED),
    ]:
        create_pensioner(session, unit=unit, cycle_start=today - timedelta(days=days_ago), status=status)
    create_pensioner(session, unit=other_unit, cycle_start=today - timedelta(days=340))
    session.commit()

    mine = status_counts(session, today, 365, unit_id=unit.id)
    assert (mine.active, mine.due_soon, mine.overdue, mine.suspended, mine.terminated) == (4, 2, 1, 1, 1)
    everyone = status_counts(session, today, 365)
    assert (everyone.active, everyone.due_soon) == (5, 3)
