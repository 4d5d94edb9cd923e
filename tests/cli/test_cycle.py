from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Certification,
    CertificationMethod,
    OfflineChannel,
    Payment,
    PensionerStatus,
    SmsMessage,
)
from portal.services.clock import local_today
from tests.databases import BOTH_DATABASES
from tests.factories import create_pensioner, make_id_number

pytestmark = BOTH_DATABASES


def test_record_offline_records_texts_and_prints_the_status(cli, session):
    today = local_today()
    pensioner = create_pensioner(
        session, name="张建国", cycle_start=today - timedelta(days=200), phone="13912340009"
    )
    session.commit()
    seen = today - timedelta(days=3)
    result = cli.invoke(
        args=[
            "record-offline",
            pensioner.id_number,
            "--date",
            seen.isoformat(),
            "--method",
            "home_visit",
            "--note",
            "社区网格员陪同上门，本人在家",
            "--by",
            "wang",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "已为张建国记录资格认证" in result.output
    assert "认证有效期至" in result.output
    session.expire_all()
    entry = session.scalar(select(Certification))
    assert (entry.method, entry.channel, entry.certified_on, entry.recorded_by) == (
        CertificationMethod.OFFLINE,
        OfflineChannel.HOME_VISIT,
        seen,
        "cli:wang",
    )
    assert session.scalar(select(AuditEvent.action)) == "record_offline_certification"
    assert "经工作人员核实" in session.scalar(select(SmsMessage.body))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--date", "2020-01-01", "--method", "counter", "--note", "窗口"], "最多只能往前补记 30 天"),
        (["--date", "someday", "--method", "counter", "--note", "窗口"], "YYYY-MM-DD"),
        (["--date", "{today}", "--method", "teleport", "--note", "窗口"], "teleport"),
        (["--date", "{today}", "--method", "counter", "--note", "  "], "请填写备注"),
    ],
)
def test_record_offline_refuses_bad_input_and_changes_nothing(cli, session, arguments, message):
    pensioner = create_pensioner(session)
    session.commit()
    arguments = [argument.replace("{today}", local_today().isoformat()) for argument in arguments]
    result = cli.invoke(args=["record-offline", pensioner.id_number, *arguments])
    assert result.exit_code != 0
    assert message in result.output
    assert session.scalar(select(func.count()).select_from(Certification)) == 0


def test_record_offline_for_an_unknown_person(cli, session):
    result = cli.invoke(
        args=[
            "record-offline",
            make_id_number(birth=date(1950, 1, 1), sequence=998),
            "--date",
            local_today().isoformat(),
            "--method",
            "video",
            "--note",
            "视频",
        ]
    )
    assert result.exit_code == 1
    assert "没有找到" in result.output


def test_daily_suspends_and_says_so_then_a_second_run_changes_nothing(cli, session):
    on = date(2026, 3, 2)
    create_pensioner(session, cycle_start=date(2025, 3, 1))
    session.commit()
    first = cli.invoke(args=["daily", "--date", on.isoformat()])
    assert first.exit_code == 0, first.output
    assert "2026-03-02" in first.output and "暂停 1 人" in first.output
    second = cli.invoke(args=["daily", "--date", on.isoformat()])
    assert second.exit_code == 0
    assert "已经运行过" in second.output
    assert session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_daily_refuses_a_future_date_and_an_earlier_one(cli, session):
    future = cli.invoke(args=["daily", "--date", (local_today() + timedelta(days=1)).isoformat()])
    assert future.exit_code == 2 and "不能晚于今天" in future.output
    assert cli.invoke(args=["daily", "--date", "2026-03-05"]).exit_code == 0
    earlier = cli.invoke(args=["daily", "--date", "2026-03-04"])
    assert earlier.exit_code == 1 and "2026-03-05" in earlier.output


def test_payroll_reports_and_is_idempotent(cli, session):
    create_pensioner(session, monthly_amount_fen=123_456)
    session.commit()
    first = cli.invoke(args=["payroll", "--month", "2026-01"])
    assert first.exit_code == 0, first.output
    assert "2026-01" in first.output and "1234.56" in first.output
    second = cli.invoke(args=["payroll", "--month", "2026-01"])
    assert second.exit_code == 0
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("month", ["2026-13", "January", "2026/01"])
def test_payroll_rejects_a_malformed_month(cli, session, month):
    result = cli.invoke(args=["payroll", "--month", month])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_payroll_refuses_a_month_that_has_not_started(cli, session):
    next_year = local_today().year + 1
    result = cli.invoke(args=["payroll", "--month", f"{next_year}-01"])
    assert result.exit_code == 1
    assert "1 日" in result.output


def test_import_evidence_reports_problems_by_line_and_column(cli, session, tmp_path: Path):
    pensioner = create_pensioner(session, name="张建国", cycle_start=date(2025, 6, 1))
    session.commit()
    path = tmp_path / "核验.csv"
    path.write_text(
        f"身份证号码,姓名,核验日期,来源\n{pensioner.id_number},张建华,2026-04-01,医保\n", encoding="utf-8"
    )
    result = cli.invoke(args=["import-evidence", str(path), "--date", "2026-04-15"])
    assert result.exit_code == 1
    assert "核验.csv" in result.output
    assert "第 2 行" in result.output and "姓名" in result.output and "张建国" in result.output
    assert session.scalar(select(func.count()).select_from(Certification)) == 0


def test_import_evidence_resumes_and_texts(cli, session, tmp_path: Path):
    pensioner = create_pensioner(
        session,
        name="李秀英",
        cycle_start=date(2025, 1, 1),
        status=PensionerStatus.SUSPENDED,
        suspended_on=date(2026, 1, 3),
    )
    session.commit()
    path = tmp_path / "evidence.csv"
    path.write_text(
        f"id_number,name,observed_on,source\n{pensioner.id_number},李秀英,2026-04-01,医保\n", encoding="utf-8"
    )
    result = cli.invoke(args=["import-evidence", str(path), "--date", "2026-04-15"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert (pensioner.status, pensioner.resume_from) == (PensionerStatus.ACTIVE, date(2026, 5, 1))
    outbox = cli.invoke(args=["sms-outbox", "--phone", pensioner.phone])
    assert "恢复发放" in outbox.output and "certified_data" in outbox.output


def test_import_deaths_lists_overpayments(cli, session, tmp_path: Path):
    pensioner = create_pensioner(session, name="赵敏", monthly_amount_fen=200_000)
    session.commit()
    assert cli.invoke(args=["payroll", "--month", "2026-01"]).exit_code == 0
    assert cli.invoke(args=["payroll", "--month", "2026-02"]).exit_code == 0
    path = tmp_path / "deaths.csv"
    path.write_text(f"id_number,name,died_on\n{pensioner.id_number},赵敏,2026-01-10\n", encoding="utf-8")
    result = cli.invoke(args=["import-deaths", str(path)])
    assert result.exit_code == 0, result.output
    assert "2026-02" in result.output and "2000.00" in result.output
    export = cli.invoke(args=["export", "overpayments"])
    assert export.exit_code == 0, export.output
    assert export.output.splitlines() == [
        "id_number,name,died_on,month,amount",
        f"{pensioner.id_number},赵敏,2026-01-10,2026-02,2000.00",
    ]


def test_export_payments(cli, session):
    pensioner = create_pensioner(session, monthly_amount_fen=100_050)
    session.commit()
    cli.invoke(args=["payroll", "--month", "2026-01"])
    result = cli.invoke(args=["export", "payments"])
    assert result.output.splitlines() == [
        "id_number,month,kind,amount,for_month",
        f"{pensioner.id_number},2026-01,regular,1000.50,2026-01",
    ]


def test_sms_outbox_when_empty(cli, session):
    result = cli.invoke(args=["sms-outbox"])
    assert result.exit_code == 0 and "没有短信" in result.output
