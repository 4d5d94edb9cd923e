"""Death records from civil affairs: `import-deaths FILE` terminates payment from the death date.

Payroll pays the death month and nothing after it; payments already made for later months are listed by
`export overpayments` for recovery.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal.models import DeathRecord, Payment, PaymentKind, Pensioner, PensionerStatus
from portal.services.messages import N_
from portal.services.payroll import yuan_amount
from portal.services.record_files import LOOKUP_CHUNK, Column, RecordRow, check_file
from portal.services.registry_import import Problem


@dataclass(frozen=True)
class Overpayment:
    id_number: str
    name: str
    died_on: date
    for_month: date
    amount_fen: int


@dataclass
class DeathsResult:
    problems: list[Problem]
    rows: int = 0
    terminated: int = 0
    already_recorded: int = 0
    overpayments: list[Overpayment] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


COLUMNS = (Column("id_number", "身份证号码"), Column("name", "姓名"), Column("died_on", "死亡日期"))


def import_deaths(session: Session, path: Path, *, today: date) -> DeathsResult:
    """Check every row, then terminate everyone in the file in one transaction, or no one."""
    checked = check_file(session, path, COLUMNS, "died_on", today=today)
    problems = checked.problems
    spelled = checked.headers.get("died_on", "died_on")
    recorded = _recorded_deaths(session, [row.pensioner.id for row in checked.rows])
    chosen: dict[int, RecordRow] = {}
    for row in checked.rows:
        died_on: date = row.values["died_on"]
        earlier = chosen.setdefault(row.pensioner.id, row)
        if earlier is not row and earlier.values["died_on"] != died_on:
            problems.append(
                Problem(
                    row.line,
                    spelled,
                    N_("Line %(other)d gives another date of death for this person"),
                    {"other": earlier.line},
                )
            )
        known = recorded.get(row.pensioner.id)
        if known is not None and known != died_on:
            problems.append(
                Problem(
                    row.line,
                    spelled,
                    N_("This person is already recorded as having died on %(died_on)s"),
                    {"died_on": known.isoformat()},
                )
            )
        elif died_on < row.pensioner.benefit_start:
            problems.append(
                Problem(row.line, spelled, N_("The date of death is before the benefit start date"))
            )
    if problems:
        session.rollback()
        return DeathsResult(sorted(problems, key=lambda problem: problem.line), rows=len(checked.rows))

    result = DeathsResult([], rows=len(checked.rows))
    for pensioner_id, row in chosen.items():
        if pensioner_id in recorded:
            result.already_recorded += 1
            continue
        pensioner = row.pensioner
        died_on = row.values["died_on"]
        session.add(DeathRecord(pensioner_id=pensioner_id, died_on=died_on, source=Path(path).name[:200]))
        pensioner.status = PensionerStatus.TERMINATED
        pensioner.terminated_on = died_on
        result.terminated += 1
    session.flush()
    result.overpayments = overpayments(session, list(chosen))
    session.commit()
    return result


def _recorded_deaths(session: Session, pensioner_ids: list[int]) -> dict[int, date]:
    found: dict[int, date] = {}
    unique = sorted(set(pensioner_ids))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        found.update(
            session.execute(
                select(DeathRecord.pensioner_id, DeathRecord.died_on).where(
                    DeathRecord.pensioner_id.in_(chunk)
                )
            ).all()
        )
    return found


def _overpayments_query() -> Select[Any]:
    return (
        select(
            Pensioner.id_number, Pensioner.name, DeathRecord.died_on, Payment.for_month, Payment.amount_fen
        )
        .join(DeathRecord, DeathRecord.pensioner_id == Pensioner.id)
        .join(Payment, Payment.pensioner_id == Pensioner.id)
        # for_month is a first day, so it is after the death date exactly when it is a later month.
        .where(Payment.kind != PaymentKind.WITHHELD, Payment.for_month > DeathRecord.died_on)
        .order_by(Pensioner.id_number, Payment.for_month)
    )


def overpayments(session: Session, pensioner_ids: list[int]) -> list[Overpayment]:
    """Payments for months after the death month of these pensioners."""
    found: list[Overpayment] = []
    for start in range(0, len(pensioner_ids), LOOKUP_CHUNK):
        chunk = pensioner_ids[start : start + LOOKUP_CHUNK]
        found.extend(
            Overpayment(*row) for row in session.execute(_overpayments_query().where(Pensioner.id.in_(chunk)))
        )
    return found


OVERPAYMENT_COLUMNS = ("id_number", "name", "died_on", "month", "amount")


def overpayment_rows(session: Session, settings: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of `export overpayments`: every payment for a month after the death month, to recover."""
    for row in session.execute(_overpayments_query().execution_options(yield_per=1000)):
        payment = Overpayment(*row)
        yield (
            payment.id_number,
            payment.name,
            payment.died_on.isoformat(),
            f"{payment.for_month:%Y-%m}",
            yuan_amount(payment.amount_fen),
        )
