from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import (
    CertificationMethod,
    CycleNotice,
    DailyRun,
    OfflineChannel,
    Pensioner,
    PensionerStatus,
    SmsMessage,
    Suspension,
)
from portal.services import daily as daily_module
from portal.services.cycle import record_certification
from portal.services.daily import LaterRunExists, reminder_windows, run_daily
from portal.services.sms import OutboxBackend
from tests.databases import BOTH_DATABASES
from tests.factories import create_account, create_pensioner

pytestmark = BOTH_DATABASES

# Due 2026-03-01 (2025-03-01 + 365 days).
CYCLE_START = date(2025, 3, 1)
DUE = date(2026, 3, 1)


def run(app, session, on: date):
    return run_daily(session, on, app.config, OutboxBackend())


def texts(session) -> list[tuple[str, str, str]]:
    return [
        (message.phone, message.purpose, message.body)
        for message in session.scalars(select(SmsMessage).order_by(SmsMessage.id))
    ]


def test_suspends_everyone_overdue_on_the_day_and_texts_them(app, session):
    overdue = create_pensioner(session, cycle_start=date(2025, 2, 27), phone="13911110001")
    due_today = create_pensioner(session, cycle_start=date(2025, 2, 28), phone="13911110002")
    session.commit()
    report = run(app, session, date(2026, 2, 28))
    assert report.suspended == 1
    assert (overdue.status, overdue.suspended_on) == (PensionerStatus.SUSPENDED, date(2026, 2, 28))
    assert due_today.status is PensionerStatus.ACTIVE
    assert session.scalars(select(Suspension.pensioner_id)).all() == [overdue.id]
    [(phone, purpose, body)] = [text for text in texts(session) if text[1] == "suspended"]
    assert (phone, purpose) == ("13911110001", "suspended")
    assert "已于2026年2月27日到期" in body and "暂停发放" in body and "0396-2693828" in body


def test_leaves_suspended_and_terminated_pensioners_alone(app, session):
    create_pensioner(session, cycle_start=date(2020, 1, 1), status=PensionerStatus.TERMINATED)
    create_pensioner(
        session, cycle_start=date(2020, 1, 1), status=PensionerStatus.SUSPENDED, suspended_on=date(2021, 1, 1)
    )
    session.commit()
    report = run(app, session, date(2026, 3, 2))
    assert report.suspended == 0
    assert session.scalar(select(func.count()).select_from(Suspension)) == 0
    assert texts(session) == []


def test_reminders_30_7_and_1_days_before_the_due_date(app, session):
    pensioner = create_pensioner(session, cycle_start=CYCLE_START, phone="13911110003")
    session.commit()
    sent = {}
    for day in range(40, -1, -1):
        on = DUE - timedelta(days=day)
        sent[day] = run(app, session, on).reminded
    assert {day for day, count in sent.items() if count} == {30, 7, 1}
    bodies = texts(session)
    assert [purpose for _, purpose, _ in bodies] == ["reminder_30", "reminder_7", "reminder_1"]
    assert all(phone == "13911110003" for phone, _, _ in bodies)
    assert "将于2026年3月1日到期" in bodies[0][2]
    assert pensioner.status is PensionerStatus.ACTIVE


def test_a_missed_day_is_caught_up_only_before_the_due_date(app, session):
    create_pensioner(session, cycle_start=CYCLE_START)
    session.commit()
    run(app, session, DUE - timedelta(days=31))
    # The job did not run from 30 to 8 days before: the 30-day reminder goes out late, once.
    assert run(app, session, DUE - timedelta(days=8)).reminded == 1
    # Nor on the day before the due date: nothing on the due date itself.
    assert run(app, session, DUE - timedelta(days=7)).reminded == 1
    assert run(app, session, DUE).reminded == 0
    assert [purpose for _, purpose, _ in texts(session)] == ["reminder_30", "reminder_7"]


def test_only_the_closest_reminder_is_caught_up(app, session):
    create_pensioner(session, cycle_start=CYCLE_START)
    session.commit()
    assert run(app, session, DUE - timedelta(days=3)).reminded == 1
    assert [purpose for _, purpose, _ in texts(session)] == ["reminder_7"]


def test_a_new_certification_starts_new_reminders(app, session):
    pensioner = create_pensioner(session, cycle_start=CYCLE_START)
    session.commit()
    run(app, session, DUE - timedelta(days=30))
    record_certification(session, pensioner, DUE - timedelta(days=20), CertificationMethod.SELF, "account:1")
    session.commit()
    next_due = DUE + timedelta(days=345)
    assert run(app, session, next_due - timedelta(days=30)).reminded == 1
    notices = session.scalars(select(CycleNotice).order_by(CycleNotice.id)).all()
    assert [(notice.cycle_start, notice.kind) for notice in notices] == [
        (CYCLE_START, "reminder_30"),
        (DUE - timedelta(days=20), "reminder_30"),
    ]


def test_reminders_also_go_to_the_accounts_that_certified_in_this_cycle(app, session):
    helper = create_account(session, phone="13800000011", real_name="李秀英")
    own = create_account(session, phone="13800000012", real_name="张建国")
    old_helper = create_account(session, phone="13800000013", real_name="王芳")
    pensioner = create_pensioner(session, name="张建国", cycle_start=date(2024, 1, 1), phone="13911110004")
    record_certification(
        session, pensioner, date(2024, 6, 1), CertificationMethod.OTHER, f"account:{old_helper.id}"
    )
    record_certification(session, pensioner, CYCLE_START, CertificationMethod.OTHER, f"account:{helper.id}")
    record_certification(session, pensioner, CYCLE_START, CertificationMethod.SELF, f"account:{own.id}")
    record_certification(
        session,
        pensioner,
        CYCLE_START,
        CertificationMethod.OFFLINE,
        "staff:1",
        "窗口",
        channel=OfflineChannel.COUNTER,
    )
    session.commit()
    run(app, session, DUE - timedelta(days=7))
    sent = {phone: body for phone, _, body in texts(session)}
    assert set(sent) == {"13911110004", "13800000011", "13800000012"}
    assert "您曾帮助张建国办理资格认证" in sent["13800000011"]
    assert sent["13800000012"] == sent["13911110004"]
    assert "将于2026年3月1日到期" in sent["13800000011"]


def test_a_helper_who_is_also_the_pensioners_phone_gets_one_text(app, session):
    helper = create_account(session, phone="13911110005")
    pensioner = create_pensioner(session, cycle_start=CYCLE_START, phone="13911110005")
    record_certification(session, pensioner, CYCLE_START, CertificationMethod.OTHER, f"account:{helper.id}")
    session.commit()
    run(app, session, DUE - timedelta(days=1))
    assert len(texts(session)) == 1


def test_a_pensioner_without_a_phone_is_reminded_without_a_text(app, session):
    create_pensioner(session, cycle_start=CYCLE_START, phone=None)
    session.commit()
    report = run(app, session, DUE - timedelta(days=30))
    assert (report.reminded, report.texts) == (1, 0)


def test_running_a_day_twice_changes_nothing(app, session):
    create_pensioner(session, cycle_start=date(2025, 2, 1))
    create_pensioner(session, cycle_start=CYCLE_START)
    session.commit()
    first = run(app, session, DUE - timedelta(days=7))
    before = (texts(session), session.scalars(select(Pensioner.status).order_by(Pensioner.id)).all())
    second = run(app, session, DUE - timedelta(days=7))
    assert (first.suspended, first.reminded, first.already_ran) == (1, 1, False)
    assert second.already_ran and (second.suspended, second.reminded, second.texts) == (0, 0, 0)
    assert (texts(session), session.scalars(select(Pensioner.status).order_by(Pensioner.id)).all()) == before
    assert session.scalar(select(func.count()).select_from(DailyRun)) == 1


def test_an_earlier_date_cannot_run_after_a_later_one(app, session):
    run(app, session, date(2026, 3, 5))
    with pytest.raises(LaterRunExists) as refused:
        run(app, session, date(2026, 3, 4))
    assert refused.value.latest == date(2026, 3, 5)


def test_other_daily_tasks_run_with_the_day_and_their_counts_are_kept(app, session, monkeypatch):
    calls = []

    def delete_expired_frames(task_session, on, config):
        calls.append((task_session, on, config["FACE_FRAMES_RETENTION_DAYS"]))
        return 4

    monkeypatch.setattr(
        daily_module, "other_daily_tasks", lambda: [("expired_frames", delete_expired_frames)]
    )
    report = run(app, session, date(2026, 3, 5))
    assert calls == [(session, date(2026, 3, 5), 30)]
    assert report.tasks == {"expired_frames": 4}
    assert session.get(DailyRun, date(2026, 3, 5)).tasks == {"expired_frames": 4}


def test_suspension_is_one_statement_not_one_per_pensioner(app, session, database_url):
    from sqlalchemy import event

    for number in range(30):
        create_pensioner(session, cycle_start=date(2024, 1, 1) + timedelta(days=number))
    session.commit()
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        report = run(app, session, date(2026, 3, 5))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert report.suspended == 30
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("UPDATE PENSIONERS")]) == 1
    assert len(statements) < 20


def test_windows_for_the_default_reminders(database_url):
    windows = reminder_windows(DUE - timedelta(days=30), 365, (30, 7, 1))
    assert windows[0] == (30, CYCLE_START - timedelta(days=22), CYCLE_START)
