"""The worked examples of DESIGN.md §1, as histories of daily runs, certifications, deaths and payrolls."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.models import CertificationMethod, DeathRecord, OfflineChannel, Payment, PensionerStatus
from portal.services.cycle import record_certification
from portal.services.daily import run_daily
from portal.services.deaths import overpayment_rows
from portal.services.payroll import payment_rows, run_payroll
from portal.services.sms import OutboxBackend
from portal.services.validation import InvalidInput
from tests.databases import BOTH_DATABASES
from tests.factories import create_pensioner

pytestmark = BOTH_DATABASES

AMOUNT = 300_000


def month(text: str) -> date:
    year, number = text.split("-")
    return date(int(year), int(number), 1)


def play(app, session, pensioner, events) -> set[tuple[str, str, str]]:
    """Apply (action, ...) events in order; return the payments as (month, kind, for_month)."""
    for action, *args in events:
        if action == "daily":
            run_daily(session, args[0], app.config, OutboxBackend())
        elif action == "payroll":
            run_payroll(session, month(args[0]), args[1])
        elif action == "certify":
            on, today = args[0], args[1] if len(args) > 1 else args[0]
            offline = on != today
            record_certification(
                session,
                pensioner,
                on,
                CertificationMethod.OFFLINE if offline else CertificationMethod.SELF,
                "staff:1" if offline else "account:1",
                "上门认证" if offline else "",
                today,
                channel=OfflineChannel.HOME_VISIT if offline else None,
            )
            session.commit()
        elif action == "death":
            session.add(DeathRecord(pensioner_id=pensioner.id, died_on=args[0], source="test"))
            pensioner.status = PensionerStatus.TERMINATED
            pensioner.terminated_on = args[0]
            session.commit()
        else:
            raise AssertionError(action)
    return {
        (f"{paid:%Y-%m}", kind.value, f"{for_month:%Y-%m}")
        for paid, kind, for_month in session.execute(select(Payment.month, Payment.kind, Payment.for_month))
    }


def regular(*months: str) -> set[tuple[str, str, str]]:
    return {(text, "regular", text) for text in months}


def withheld(*months: str) -> set[tuple[str, str, str]]:
    return {(text, "withheld", text) for text in months}


def back_pay(paid_in: str, *months: str) -> set[tuple[str, str, str]]:
    return {(paid_in, "back_pay", text) for text in months}


# A pensioner certified on 2024-01-15 is due on 2025-01-14 and suspended by the daily run of 2025-01-15.
EXAMPLES = {
    "never suspended: paid every month from the benefit start month": (
        {"benefit_start": date(2024, 11, 20), "cycle_start": date(2024, 11, 20)},
        [("payroll", "2024-10", date(2024, 12, 1))]
        + [("payroll", text, date(2025, 3, 1)) for text in ("2024-11", "2024-12", "2025-01", "2025-02")],
        regular("2024-11", "2024-12", "2025-01", "2025-02"),
    ),
    "suspended mid-month: that month is paid, later ones withheld, back pay with the month after success": (
        {},
        [
            ("payroll", "2025-01", date(2025, 1, 5)),
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-02", date(2025, 2, 5)),
            ("payroll", "2025-03", date(2025, 3, 5)),
            ("certify", date(2025, 3, 10)),
            ("payroll", "2025-04", date(2025, 4, 5)),
            ("payroll", "2025-05", date(2025, 5, 5)),
        ],
        regular("2025-01", "2025-04", "2025-05")
        | withheld("2025-02", "2025-03")
        | back_pay("2025-04", "2025-02", "2025-03"),
    ),
    "the success month is withheld even when its payroll runs after the success": (
        {},
        [
            ("daily", date(2025, 1, 15)),
            ("certify", date(2025, 2, 20)),
            ("payroll", "2025-02", date(2025, 2, 25)),
            ("payroll", "2025-03", date(2025, 3, 5)),
        ],
        withheld("2025-02") | regular("2025-03") | back_pay("2025-03", "2025-02"),
    ),
    "suspended on the first day of a month and certified the same day": (
        {"cycle_start": date(2024, 2, 29)},
        [
            ("daily", date(2025, 3, 1)),
            ("payroll", "2025-03", date(2025, 3, 1)),
            ("certify", date(2025, 3, 1)),
            ("payroll", "2025-04", date(2025, 4, 1)),
        ],
        withheld("2025-03") | regular("2025-04") | back_pay("2025-04", "2025-03"),
    ),
    "a payroll that ran before the suspension pays its month": (
        {"cycle_start": date(2024, 2, 29)},
        [
            ("payroll", "2025-03", date(2025, 3, 1)),
            ("daily", date(2025, 3, 1)),
            ("payroll", "2025-04", date(2025, 4, 1)),
            ("certify", date(2025, 4, 10)),
            ("payroll", "2025-05", date(2025, 5, 1)),
        ],
        regular("2025-03", "2025-05") | withheld("2025-04") | back_pay("2025-05", "2025-04"),
    ),
    "a back-dated offline certification resumes from the month after it was recorded": (
        {},
        [
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-03", date(2025, 3, 5)),
            ("certify", date(2025, 3, 30), date(2025, 4, 2)),
            ("payroll", "2025-04", date(2025, 4, 5)),
            ("payroll", "2025-05", date(2025, 5, 5)),
        ],
        withheld("2025-03", "2025-04") | regular("2025-05") | back_pay("2025-05", "2025-03", "2025-04"),
    ),
    "across the new year": (
        {"cycle_start": date(2024, 11, 19)},
        [
            ("daily", date(2025, 11, 20)),
            ("payroll", "2025-12", date(2025, 12, 1)),
            ("payroll", "2026-01", date(2026, 1, 1)),
            ("certify", date(2026, 1, 31)),
            ("payroll", "2026-02", date(2026, 2, 1)),
        ],
        withheld("2025-12", "2026-01") | regular("2026-02") | back_pay("2026-02", "2025-12", "2026-01"),
    ),
    "a skipped payroll month: back pay comes with the first payroll run from resume_from": (
        {},
        [
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-02", date(2025, 2, 5)),
            ("certify", date(2025, 2, 20)),
            ("payroll", "2025-04", date(2025, 4, 5)),
            ("payroll", "2025-03", date(2025, 4, 6)),
        ],
        withheld("2025-02") | regular("2025-03", "2025-04") | back_pay("2025-04", "2025-02"),
    ),
    "death: the death month is paid, nothing after": (
        {},
        [
            ("payroll", "2024-12", date(2024, 12, 1)),
            ("death", date(2024, 12, 31)),
            ("payroll", "2025-01", date(2025, 1, 5)),
        ],
        regular("2024-12"),
    ),
    "months before a death stay owed and are back-paid when the resumption came first": (
        {},
        [
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-02", date(2025, 2, 5)),
            ("certify", date(2025, 2, 20)),
            ("death", date(2025, 2, 27)),
            ("payroll", "2025-03", date(2025, 3, 5)),
        ],
        withheld("2025-02") | back_pay("2025-03", "2025-02"),
    ),
    "never resumed: withheld months are not paid": (
        {},
        [
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-02", date(2025, 2, 5)),
            ("payroll", "2025-03", date(2025, 3, 5)),
            ("death", date(2025, 3, 20)),
            ("payroll", "2025-04", date(2025, 4, 5)),
        ],
        withheld("2025-02", "2025-03"),
    ),
}


@pytest.mark.parametrize(("fields", "events", "expected"), EXAMPLES.values(), ids=EXAMPLES.keys())
def test_worked_examples(app, session, fields, events, expected):
    pensioner = create_pensioner(
        session,
        **{"benefit_start": date(2015, 6, 1), "cycle_start": date(2024, 1, 15), "monthly_amount_fen": AMOUNT}
        | fields,
    )
    session.commit()
    assert play(app, session, pensioner, events) == expected
    # Running every payroll again adds nothing.
    again = [event for event in events if event[0] == "payroll"]
    assert play(app, session, pensioner, again) == expected


def test_amounts_of_each_row(app, session):
    pensioner = create_pensioner(session, cycle_start=date(2024, 1, 15), monthly_amount_fen=345_678)
    session.commit()
    play(
        app,
        session,
        pensioner,
        [
            ("daily", date(2025, 1, 15)),
            ("payroll", "2025-02", date(2025, 2, 5)),
            ("certify", date(2025, 2, 20)),
            ("payroll", "2025-03", date(2025, 3, 5)),
        ],
    )
    assert sorted(payment_rows(session, app.config)) == sorted(
        [
            (pensioner.id_number, "2025-02", "withheld", Decimal("3456.78"), "2025-02"),
            (pensioner.id_number, "2025-03", "regular", Decimal("3456.78"), "2025-03"),
            (pensioner.id_number, "2025-03", "back_pay", Decimal("3456.78"), "2025-02"),
        ]
    )


def test_a_death_learnt_late_lists_the_overpaid_months(app, session):
    pensioner = create_pensioner(
        session, name="赵敏", cycle_start=date(2024, 6, 1), monthly_amount_fen=250_000
    )
    session.commit()
    for text, run_on in (
        ("2025-01", date(2025, 1, 5)),
        ("2025-02", date(2025, 2, 5)),
        ("2025-03", date(2025, 3, 5)),
    ):
        run_payroll(session, month(text), run_on)
    play(app, session, pensioner, [("death", date(2025, 1, 20))])
    assert list(overpayment_rows(session, app.config)) == [
        (pensioner.id_number, "赵敏", "2025-01-20", "2025-02", Decimal("2500.00")),
        (pensioner.id_number, "赵敏", "2025-01-20", "2025-03", Decimal("2500.00")),
    ]


def test_payroll_for_a_month_that_has_not_started_is_refused(app, session):
    create_pensioner(session)
    session.commit()
    with pytest.raises(InvalidInput, match="first day"):
        run_payroll(session, date(2025, 5, 1), date(2025, 4, 30))
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_report_counts_what_this_run_added(app, session):
    for number in range(3):
        create_pensioner(session, monthly_amount_fen=100_000 + number)
    session.commit()
    first = run_payroll(session, date(2025, 5, 1), date(2025, 5, 2))
    second = run_payroll(session, date(2025, 5, 1), date(2025, 5, 2))
    assert (first.regular, first.withheld, first.back_pay, first.regular_fen) == (3, 0, 0, 300_003)
    assert (second.regular, second.withheld, second.back_pay, second.regular_fen) == (0, 0, 0, 300_003)
