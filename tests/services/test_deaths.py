from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from portal.models import DeathRecord, PensionerStatus
from portal.services.deaths import import_deaths, overpayment_rows
from portal.services.payroll import run_payroll
from tests.databases import BOTH_DATABASES
from tests.factories import create_pensioner

pytestmark = BOTH_DATABASES

TODAY = date(2026, 4, 15)


def write_csv(path: Path, rows: list[list[object]], header=("id_number", "name", "died_on")) -> Path:
    path.write_text(
        "\n".join([",".join(header)] + [",".join(map(str, row)) for row in rows]) + "\n", encoding="utf-8"
    )
    return path


def test_a_death_terminates_payment_and_lists_the_overpaid_months(app, session, tmp_path):
    pensioner = create_pensioner(session, name="赵敏", monthly_amount_fen=321_000)
    survivor = create_pensioner(session, name="钱进")
    session.commit()
    for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        run_payroll(session, month, TODAY)
    path = write_csv(tmp_path / "deaths.csv", [[pensioner.id_number, "赵敏", "2026-01-20"]])
    result = import_deaths(session, path, today=TODAY)
    assert result.ok and (result.terminated, result.already_recorded) == (1, 0)
    assert (pensioner.status, pensioner.terminated_on) == (PensionerStatus.TERMINATED, date(2026, 1, 20))
    assert session.scalar(select(DeathRecord.source)) == "deaths.csv"
    assert [(item.for_month, item.amount_fen) for item in result.overpayments] == [
        (date(2026, 2, 1), 321_000),
        (date(2026, 3, 1), 321_000),
    ]
    assert list(overpayment_rows(session, app.config)) == [
        (pensioner.id_number, "赵敏", "2026-01-20", "2026-02", Decimal("3210.00")),
        (pensioner.id_number, "赵敏", "2026-01-20", "2026-03", Decimal("3210.00")),
    ]
    assert survivor.status is PensionerStatus.ACTIVE
    # The next payroll pays nothing for the dead pensioner.
    report = run_payroll(session, date(2026, 4, 1), TODAY)
    assert report.regular == 1


def test_importing_the_same_file_again_changes_nothing(app, session, tmp_path):
    pensioner = create_pensioner(session, name="赵敏")
    session.commit()
    path = write_csv(tmp_path / "deaths.csv", [[pensioner.id_number, "赵敏", "2026-01-20"]])
    import_deaths(session, path, today=TODAY)
    again = import_deaths(session, path, today=TODAY)
    assert again.ok and (again.terminated, again.already_recorded) == (0, 1)
    assert session.scalar(select(func.count()).select_from(DeathRecord)) == 1


def test_chinese_headers(app, session, tmp_path):
    pensioner = create_pensioner(session, name="赵敏")
    session.commit()
    path = write_csv(
        tmp_path / "死亡名单.csv",
        [[pensioner.id_number, "赵敏", "2026年1月20日"]],
        header=("身份证号码", "姓名", "死亡日期"),
    )
    assert import_deaths(session, path, today=TODAY).terminated == 1
    assert pensioner.terminated_on == date(2026, 1, 20)


def test_bad_rows_are_all_reported_and_nothing_is_written(app, session, tmp_path):
    first = create_pensioner(session, name="赵敏", benefit_start=date(2016, 1, 1))
    second = create_pensioner(session, name="钱进")
    third = create_pensioner(session, name="孙丽", benefit_start=date(2016, 1, 1))
    recorded = create_pensioner(
        session, name="李雷", status=PensionerStatus.TERMINATED, terminated_on=date(2025, 5, 5)
    )
    session.add(DeathRecord(pensioner_id=recorded.id, died_on=date(2025, 5, 5), source="old.csv"))
    session.commit()
    path = write_csv(
        tmp_path / "deaths.csv",
        [
            [first.id_number, "赵敏", "2026-01-20"],
            [second.id_number, "钱进", "2026-01-21"],
            [second.id_number, "钱进", "2026-01-22"],
            [third.id_number, "孙丽", "2015-12-31"],
            [recorded.id_number, "李雷", "2025-06-01"],
            [first.id_number, "赵敏", "2026-05-01"],
            [first.id_number, "赵敏", "someday"],
        ],
    )
    result = import_deaths(session, path, today=TODAY)
    assert [(problem.line, problem.column, problem.text()) for problem in result.problems] == [
        (4, "died_on", "Line 3 gives another date of death for this person"),
        (5, "died_on", "The date of death is before the benefit start date"),
        (6, "died_on", "This person is already recorded as having died on 2025-05-05"),
        (7, "died_on", "The date cannot be after the processing date, 2026-04-15"),
        (8, "died_on", "Write the date as YYYY-MM-DD, like 2020-03-31"),
    ]
    assert session.scalar(select(func.count()).select_from(DeathRecord)) == 1
    assert first.status is PensionerStatus.ACTIVE
