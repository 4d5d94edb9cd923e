from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.models import (
    Certification,
    CertificationMethod,
    DeathRecord,
    PensionerStatus,
    SmsMessage,
    Suspension,
)
from portal.services.evidence import import_evidence
from portal.services.sms import OutboxBackend
from tests.databases import BOTH_DATABASES
from tests.factories import create_pensioner, make_id_number

pytestmark = BOTH_DATABASES

TODAY = date(2026, 4, 15)


def write_csv(
    path: Path, rows: list[list[object]], header=("id_number", "name", "observed_on", "source")
) -> Path:
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(app, session, path: Path, today: date = TODAY):
    return import_evidence(session, path, today=today, config=app.config, backend=OutboxBackend())


def suspended_pensioner(session, **fields):
    pensioner = create_pensioner(
        session,
        cycle_start=date(2025, 1, 1),
        status=PensionerStatus.SUSPENDED,
        suspended_on=date(2026, 1, 3),
        **fields,
    )
    session.add(Suspension(pensioner_id=pensioner.id, suspended_on=date(2026, 1, 3)))
    session.commit()
    return pensioner


def test_evidence_certifies_as_of_the_observed_date_and_texts_the_pensioner(app, session, tmp_path):
    pensioner = create_pensioner(session, name="张建国", cycle_start=date(2025, 6, 1), phone="13912340001")
    session.commit()
    result = run(
        app,
        session,
        write_csv(tmp_path / "e.csv", [[pensioner.id_number, "张建国", "2026-04-02", "医保结算"]]),
    )
    assert result.ok and (result.certified, result.resumed, result.texts) == (1, 0, 1)
    assert pensioner.cycle_start == date(2026, 4, 2)
    entry = session.scalar(select(Certification))
    assert (entry.method, entry.certified_on, entry.recorded_by, entry.note) == (
        CertificationMethod.DATA,
        date(2026, 4, 2),
        "医保结算",
        "e.csv:2",
    )
    message = session.scalar(select(SmsMessage))
    assert message.phone == "13912340001"
    assert "根据相关部门信息" in message.body and "有效期至2027年4月2日" in message.body


def test_evidence_resumes_a_suspended_pensioner_from_the_month_after_the_processing_date(
    app, session, tmp_path
):
    pensioner = suspended_pensioner(session, name="李秀英")
    # Observed in March, processed in April: payment resumes in May.
    result = run(
        app,
        session,
        write_csv(tmp_path / "e.csv", [[pensioner.id_number, "李秀英", "2026-03-20", "银行柜台"]]),
    )
    assert (result.certified, result.resumed) == (1, 1)
    assert (pensioner.status, pensioner.resume_from) == (PensionerStatus.ACTIVE, date(2026, 5, 1))
    assert session.scalar(select(Suspension.resume_from)) == date(2026, 5, 1)
    assert "养老金自2026年5月起恢复发放" in session.scalar(select(SmsMessage.body))


def test_the_same_file_gives_the_same_result_whenever_it_is_processed_with_the_same_date(
    app, session, tmp_path
):
    pensioner = suspended_pensioner(session, name="李秀英")
    path = write_csv(tmp_path / "e.csv", [[pensioner.id_number, "李秀英", "2026-03-20", "银行柜台"]])
    run(app, session, path, today=date(2026, 3, 31))
    assert pensioner.resume_from == date(2026, 4, 1)
    again = run(app, session, path, today=date(2026, 3, 31))
    assert (again.certified, again.not_newer, again.texts) == (0, 1, 0)
    assert session.scalar(select(func.count()).select_from(Certification)) == 1


def test_evidence_not_later_than_the_cycle_start_changes_nothing(app, session, tmp_path):
    pensioner = create_pensioner(session, name="王芳", cycle_start=date(2026, 3, 1))
    session.commit()
    result = run(
        app, session, write_csv(tmp_path / "e.csv", [[pensioner.id_number, "王芳", "2026-03-01", "医保"]])
    )
    assert (result.certified, result.not_newer, result.texts) == (0, 1, 0)
    assert session.scalar(select(func.count()).select_from(Certification)) == 0


def test_only_the_latest_row_per_person_counts(app, session, tmp_path):
    pensioner = create_pensioner(session, name="王芳", cycle_start=date(2025, 6, 1))
    session.commit()
    path = write_csv(
        tmp_path / "e.csv",
        [
            [pensioner.id_number, "王芳", "2026-02-01", "医保"],
            [pensioner.id_number, "王芳", "2026-03-05", "出行"],
        ],
    )
    assert run(app, session, path).certified == 1
    assert pensioner.cycle_start == date(2026, 3, 5)


def test_evidence_too_old_to_cover_the_processing_date_does_not_resume(app, session, tmp_path):
    pensioner = suspended_pensioner(session, name="李秀英")
    result = run(
        app, session, write_csv(tmp_path / "e.csv", [[pensioner.id_number, "李秀英", "2025-03-01", "医保"]])
    )
    assert (result.certified, result.resumed, result.still_overdue, result.texts) == (1, 0, 1, 0)
    assert pensioner.status is PensionerStatus.SUSPENDED


def test_chinese_headers_and_xlsx_with_real_dates(app, session, tmp_path):
    pensioner = create_pensioner(session, name="阿依古丽·买买提", cycle_start=date(2025, 6, 1))
    session.commit()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["身份证号码", "姓名", "核验日期", "来源"])
    sheet.append([pensioner.id_number, "阿依古丽•买买提", date(2026, 4, 1), "民政"])
    workbook.save(tmp_path / "evidence.xlsx")
    result = run(app, session, tmp_path / "evidence.xlsx")
    assert result.ok and result.certified == 1
    assert pensioner.cycle_start == date(2026, 4, 1)


def test_every_bad_row_is_reported_and_nothing_is_written(app, session, tmp_path):
    good = create_pensioner(session, name="张建国", cycle_start=date(2025, 6, 1))
    other = create_pensioner(session, name="李秀英", cycle_start=date(2025, 6, 1))
    session.commit()
    bad_checksum = good.id_number[:17] + ("0" if good.id_number[17] != "0" else "1")
    unknown = make_id_number(birth=date(1950, 1, 1), sequence=999)
    path = write_csv(
        tmp_path / "e.csv",
        [
            [good.id_number, "张建国", "2026-04-01", "医保"],
            [bad_checksum, "张建国", "2026-04-01", "医保"],
            [other.id_number, "李秀华", "2026-04-01", "医保"],
            [unknown, "赵六", "2026-04-01", "医保"],
            [good.id_number, "张建国", "2026-04-31", "医保"],
            [good.id_number, "张建国", "2026-05-01", "医保"],
            [good.id_number, "张建国", "2026-04-01", ""],
        ],
    )
    result = run(app, session, path)
    assert not result.ok
    found = [(problem.line, problem.column, problem.text()) for problem in result.problems]
    assert found == [
        (3, "id_number", "The ID card number is not correct: check every digit"),
        (4, "name", "The name does not match the registry for this ID card number, which has 李秀英"),
        (5, "id_number", "No pensioner has this ID card number"),
        (6, "observed_on", "This date does not exist: check the month and the day"),
        (7, "observed_on", "The date cannot be after the processing date, 2026-04-15"),
        (8, "source", "This value is missing"),
    ]
    assert session.scalar(select(func.count()).select_from(Certification)) == 0
    assert session.scalar(select(func.count()).select_from(SmsMessage)) == 0
    assert good.cycle_start == date(2025, 6, 1)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id_number,name,source\n", [(1, "observed_on", "This column is missing")]),
        (
            "id_number,name,observed_on,source,extra\n",
            [(1, "extra", "This column is not part of the format")],
        ),
        ("", [(0, "", "The file is empty")]),
    ],
)
def test_bad_headers(app, session, tmp_path, content, expected):
    path = tmp_path / "e.csv"
    path.write_text(content, encoding="utf-8")
    result = run(app, session, path)
    assert [(problem.line, problem.column, problem.text()) for problem in result.problems] == expected


def test_a_missing_file_is_reported(app, session, tmp_path):
    result = run(app, session, tmp_path / "nowhere.csv")
    assert [problem.line for problem in result.problems] == [0]


def test_evidence_after_a_recorded_death_is_refused(app, session, tmp_path):
    pensioner = create_pensioner(
        session,
        name="赵敏",
        cycle_start=date(2025, 6, 1),
        status=PensionerStatus.TERMINATED,
        terminated_on=date(2026, 2, 1),
    )
    session.add(DeathRecord(pensioner_id=pensioner.id, died_on=date(2026, 2, 1), source="deaths.csv"))
    session.commit()
    before = run(
        app, session, write_csv(tmp_path / "a.csv", [[pensioner.id_number, "赵敏", "2026-01-20", "医保"]])
    )
    assert before.ok and (before.certified, before.not_newer) == (0, 1)
    after = run(
        app, session, write_csv(tmp_path / "b.csv", [[pensioner.id_number, "赵敏", "2026-03-01", "医保"]])
    )
    assert [(problem.line, problem.text()) for problem in after.problems] == [
        (2, "This person is recorded as having died on 2026-02-01, before this date")
    ]
