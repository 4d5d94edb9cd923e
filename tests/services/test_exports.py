from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from portal.extensions import db
from portal.models import Certification, CertificationMethod, Pensioner, PensionerStatus, Unit
from portal.services.exports import EXPORT_KINDS, write_csv, write_xlsx
from tests.registry_files import PENSIONER_COLUMNS, id_number


def add_pensioner(session, unit: Unit, sequence: int, **fields) -> Pensioner:
    values = {
        "id_number": id_number(sequence),
        "name": f"王建国{sequence}",
        "unit": unit,
        "benefit_start": date(2015, 6, 1),
        "cycle_start": date(2015, 6, 1),
        "monthly_amount_fen": 456_789,
    }
    values.update(fields)
    pensioner = Pensioner(**values)
    session.add(pensioner)
    return pensioner


def certify(session, pensioner: Pensioner, day: date, method: CertificationMethod) -> None:
    session.add(Certification(pensioner=pensioner, certified_on=day, method=method, recorded_by="test"))


@pytest.fixture
def registry(session):
    education = Unit(code="41170101", name="驻马店市教育局")
    finance = Unit(code="41170102", name="驻马店市财政局")
    never = add_pensioner(session, finance, 1)
    certified = add_pensioner(session, education, 2, cycle_start=date(2026, 5, 1))
    certify(session, certified, date(2025, 4, 30), CertificationMethod.SELF)
    certify(session, certified, date(2026, 5, 1), CertificationMethod.OFFLINE)
    certify(session, certified, date(2024, 5, 1), CertificationMethod.OTHER)
    resumed = add_pensioner(
        session,
        education,
        3,
        cycle_start=date(2026, 10, 9),
        suspended_on=date(2026, 9, 2),
        resume_from=date(2026, 11, 1),
    )
    certify(session, resumed, date(2026, 10, 9), CertificationMethod.DATA)
    certify(session, resumed, date(2026, 10, 9), CertificationMethod.SELF)
    add_pensioner(
        session, education, 4, status=PensionerStatus.SUSPENDED, suspended_on=date(2016, 6, 1), name="李秀英"
    )
    session.commit()
    return never, certified, resumed


def csv_rows(session, app) -> list[list[str]]:
    stream = io.StringIO()
    write_csv(EXPORT_KINDS["pensioners"], session, app.config, stream)
    return list(csv.reader(io.StringIO(stream.getvalue())))


def test_pensioners_export_has_the_documented_columns_and_latest_certification(app, session, registry):
    rows = csv_rows(session, app)

    assert rows[0] == PENSIONER_COLUMNS
    assert rows[1:] == [
        [
            id_number(2),
            "王建国2",
            "41170101",
            "active",
            "2026-05-01",
            "2027-05-01",
            "2026-05-01",
            "offline",
            "",
            "",
        ],
        [
            id_number(3),
            "王建国3",
            "41170101",
            "active",
            "2026-10-09",
            "2027-10-09",
            "2026-10-09",
            # Two records on one day: the one recorded last is the latest.
            "self",
            "2026-09-02",
            "2026-11-01",
        ],
        [
            id_number(4),
            "李秀英",
            "41170101",
            "suspended",
            "2015-06-01",
            "2016-05-31",
            "",
            "",
            "2016-06-01",
            "",
        ],
        [id_number(1), "王建国1", "41170102", "active", "2015-06-01", "2016-05-31", "", "", "", ""],
    ]


def test_due_date_follows_the_cycle_days_setting(app, session, registry):
    app.config["CYCLE_DAYS"] = 30
    rows = csv_rows(session, app)
    assert rows[1][4:6] == ["2026-05-01", "2026-05-31"]


def test_pensioners_export_is_one_query_however_many_rows(app, session, registry):
    education = session.get(Unit, registry[1].unit_id)
    for sequence in range(10, 60):
        pensioner = add_pensioner(session, education, sequence)
        certify(session, pensioner, date(2026, 1, 1), CertificationMethod.SELF)
    session.commit()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows = csv_rows(session, app)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert len(rows) == 1 + 54
    assert len(statements) == 1


def test_xlsx_export_has_the_same_columns_and_real_dates(app, session, registry, tmp_path):
    path = tmp_path / "pensioners.xlsx"

    count = write_xlsx(EXPORT_KINDS["pensioners"], session, app.config, path)

    assert count == 4
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "pensioners"
    assert list(rows[0]) == PENSIONER_COLUMNS
    first = dict(zip(PENSIONER_COLUMNS, rows[1], strict=True))
    assert first["id_number"] == id_number(2)
    assert first["status"] == "active"
    assert first["last_method"] == "offline"
    assert first["due_date"].date() == date(2027, 5, 1)
    assert sheet.cell(row=2, column=6).number_format == "yyyy-mm-dd"
    assert first["suspended_on"] is None


def test_empty_registry_exports_only_the_header(app, session):
    assert csv_rows(session, app) == [PENSIONER_COLUMNS]


def test_attempts_export_says_who_tried_for_whom_and_how_it_went(app, session):
    from datetime import UTC, datetime

    from portal.models import Attempt, AttemptMode, AttemptResult
    from tests.factories import create_account, create_pensioner

    pensioner = create_pensioner(session)
    helper = create_account(session, phone="13600000002")
    session.add(
        Attempt(
            pensioner=pensioner,
            account=helper,
            mode=AttemptMode.OTHER,
            for_other=True,
            started_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
            finished_at=datetime(2026, 12, 1, 2, 1, tzinfo=UTC),
            result=AttemptResult.MISMATCH,
            distance=0.81234,
            ip_address="127.0.0.1",
            user_agent="Mozilla/5.0",
        )
    )
    session.commit()
    output = io.StringIO()
    write_csv(EXPORT_KINDS["attempts"], session, app.config, output)
    rows = list(csv.reader(io.StringIO(output.getvalue())))
    assert rows[0] == list(EXPORT_KINDS["attempts"].headers)
    assert rows[1] == [
        pensioner.id_number,
        "2026-12-01 10:00:00",
        "2026-12-01 10:01:00",
        "other",
        "yes",
        "account:13600000002",
        "mismatch",
        "0.8123",
        "127.0.0.1",
        "Mozilla/5.0",
    ]
