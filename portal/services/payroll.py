"""Monthly payroll (DESIGN.md §1 "Withheld month", "Back pay", "Payroll month M").

Three INSERT … SELECT statements decide every pensioner at once, from the history in `suspensions` as
it stands when the payroll runs. The unique keys of `payments` make a second run add nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Select, and_, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased

from portal.models import Payment, PaymentKind, Pensioner, Suspension
from portal.models.base import utcnow
from portal.services.bulk import counted
from portal.services.cycle import month_start, next_month
from portal.services.messages import N_
from portal.services.validation import InvalidInput

BATCH_SIZE = 1000


@dataclass(frozen=True)
class PayrollReport:
    month: date
    regular: int
    withheld: int
    back_pay: int
    regular_fen: int
    back_pay_fen: int
    withheld_fen: int


def _suspended_on_first_day(pensioner_id, first_day: date):
    """Month M is withheld when a suspension covers its first day and payment resumes after M."""
    return exists().where(
        Suspension.pensioner_id == pensioner_id,
        Suspension.suspended_on <= first_day,
        or_(Suspension.resume_from.is_(None), Suspension.resume_from > first_day),
    )


def run_payroll(session: Session, month: date, today: date) -> PayrollReport:
    """Add the payments for `month` and commit; a month runs from its first day."""
    first_day = month_start(month)
    if first_day > today:
        raise InvalidInput(N_("The payroll for a month can only run from the first day of that month"))
    now = utcnow()
    due_this_month = and_(
        # Nothing before the benefit start month; the start month and the death month are paid.
        Pensioner.benefit_start < next_month(first_day),
        or_(Pensioner.terminated_on.is_(None), Pensioner.terminated_on >= first_day),
        ~exists().where(
            Payment.pensioner_id == Pensioner.id,
            Payment.for_month == first_day,
            Payment.kind.in_([PaymentKind.REGULAR, PaymentKind.WITHHELD]),
        ),
    )
    columns = ["pensioner_id", "month", "kind", "amount_fen", "for_month", "run_at"]

    def this_month(kind: PaymentKind):
        return select(
            Pensioner.id,
            literal(first_day, Date),
            literal(kind.value),
            Pensioner.monthly_amount_fen,
            literal(first_day, Date),
            literal(now),
        )

    withheld = session.execute(
        counted(insert(Payment)).from_select(
            columns,
            this_month(PaymentKind.WITHHELD).where(
                due_this_month, _suspended_on_first_day(Pensioner.id, first_day)
            ),
        )
    ).rowcount
    regular = session.execute(
        counted(insert(Payment)).from_select(
            columns,
            this_month(PaymentKind.REGULAR).where(
                due_this_month, ~_suspended_on_first_day(Pensioner.id, first_day)
            ),
        )
    ).rowcount
    back_pay = session.execute(
        counted(insert(Payment)).from_select(columns, _back_pay(first_day, now))
    ).rowcount
    session.commit()
    return summary(session, first_day, regular=regular, withheld=withheld, back_pay=back_pay)


def _back_pay(first_day: date, now: datetime) -> Select[Any]:
    """Every withheld month not yet back-paid whose suspension resumed from this month or earlier.

    Months up to a death stay owed: they are paid (to the estate) even when the death is known by then.
    """
    withheld = aliased(Payment)
    back_paid = aliased(Payment)
    return (
        select(
            withheld.pensioner_id,
            literal(first_day, Date),
            literal(PaymentKind.BACK_PAY.value),
            withheld.amount_fen,
            withheld.for_month,
            literal(now),
        )
        .join(
            Suspension,
            and_(
                Suspension.pensioner_id == withheld.pensioner_id,
                Suspension.suspended_on <= withheld.for_month,
                Suspension.resume_from > withheld.for_month,
            ),
        )
        .join(Pensioner, Pensioner.id == withheld.pensioner_id)
        .where(
            Suspension.resume_from <= first_day,
            withheld.kind == PaymentKind.WITHHELD,
            or_(Pensioner.terminated_on.is_(None), withheld.for_month <= Pensioner.terminated_on),
            ~exists().where(
                back_paid.pensioner_id == withheld.pensioner_id,
                back_paid.for_month == withheld.for_month,
                back_paid.kind == PaymentKind.BACK_PAY,
            ),
        )
    )


def summary(
    session: Session, month: date, *, regular: int = 0, withheld: int = 0, back_pay: int = 0
) -> PayrollReport:
    """Counts added by this run, and the month's totals in 分 as they now stand."""
    totals = dict(
        session.execute(
            select(Payment.kind, func.coalesce(func.sum(Payment.amount_fen), 0))
            .where(Payment.month == month)
            .group_by(Payment.kind)
        ).all()
    )
    return PayrollReport(
        month=month,
        regular=regular,
        withheld=withheld,
        back_pay=back_pay,
        regular_fen=int(totals.get(PaymentKind.REGULAR, 0)),
        back_pay_fen=int(totals.get(PaymentKind.BACK_PAY, 0)),
        withheld_fen=int(totals.get(PaymentKind.WITHHELD, 0)),
    )


PAYMENT_COLUMNS = ("id_number", "month", "kind", "amount", "for_month")


def payment_rows(session: Session, settings: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of `export payments`: months as YYYY-MM, amounts in yuan with two decimals."""
    query = (
        select(Pensioner.id_number, Payment.month, Payment.kind, Payment.amount_fen, Payment.for_month)
        .join(Pensioner, Pensioner.id == Payment.pensioner_id)
        .order_by(Payment.month, Pensioner.id_number, Payment.for_month, Payment.kind)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for id_number, paid_in, kind, amount_fen, for_month in session.execute(query):
        yield (id_number, f"{paid_in:%Y-%m}", kind.value, yuan_amount(amount_fen), f"{for_month:%Y-%m}")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_amount(fen: int) -> Decimal:
    """Exact yuan with two decimals: written as 3456.78 in CSV and as a number in XLSX."""
    return Decimal(fen).scaleb(-2)
