"""Exports for staff and operators (DESIGN.md §5): each kind names its columns and streams its rows.

Add a kind by writing a row function and registering an ExportKind in EXPORT_KINDS.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Account, Attempt, Certification, Pensioner, StaffUser, Unit
from portal.services.clock import SERVICE_TIMEZONE
from portal.services.deaths import OVERPAYMENT_COLUMNS, overpayment_rows
from portal.services.payroll import PAYMENT_COLUMNS, payment_rows

Cell = str | int | float | date | None
RowSource = Callable[[Session, Mapping[str, Any]], Iterable[Sequence[Cell]]]
# Rows fetched from the database per round trip: big tables stream instead of filling memory.
BATCH_SIZE = 1000


@dataclass(frozen=True)
class ExportKind:
    name: str
    description: str
    headers: tuple[str, ...]
    rows: RowSource  # called with the session and the app settings


def pensioner_rows(session: Session, settings: Mapping[str, Any]) -> Iterable[Sequence[Cell]]:
    cycle = timedelta(days=int(settings["CYCLE_DAYS"]))
    ranked = select(
        Certification.pensioner_id,
        Certification.certified_on,
        Certification.method,
        func.row_number()
        .over(
            partition_by=Certification.pensioner_id,
            order_by=(Certification.certified_on.desc(), Certification.id.desc()),
        )
        .label("rank"),
    ).subquery()
    latest = select(ranked).where(ranked.c.rank == 1).subquery()
    statement = (
        select(
            Pensioner.id_number,
            Pensioner.name,
            Unit.code,
            Pensioner.status,
            Pensioner.cycle_start,
            latest.c.certified_on,
            latest.c.method,
            Pensioner.suspended_on,
            Pensioner.resume_from,
        )
        .join(Unit, Pensioner.unit_id == Unit.id)
        .outerjoin(latest, latest.c.pensioner_id == Pensioner.id)
        .order_by(Unit.code, Pensioner.id_number)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for row in session.execute(statement):
        (id_number, name, unit_code, status, cycle_start, last_on, last_method, suspended_on, resume_from) = (
            row
        )
        yield (
            id_number,
            name,
            unit_code,
            status,
            cycle_start,
            cycle_start + cycle,
            last_on,
            last_method,
            suspended_on,
            resume_from,
        )


ATTEMPT_COLUMNS = (
    "id_number",
    "started_at",
    "finished_at",
    "mode",
    "for_other",
    "by",
    "result",
    "distance",
    "ip_address",
    "user_agent",
)


def _local_time(moment: datetime | None) -> str | None:
    """Service-local time; SQLite hands timestamps back without their zone, and they are stored in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SERVICE_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def attempt_rows(session: Session, _settings: Mapping[str, Any]) -> Iterable[Sequence[Cell]]:
    """Every face or upload attempt with who made it: the audit trail against fraudulent claims (冒领)."""
    statement = (
        select(
            Pensioner.id_number,
            Attempt.started_at,
            Attempt.finished_at,
            Attempt.mode,
            Attempt.for_other,
            Account.phone,
            StaffUser.username,
            Attempt.result,
            Attempt.distance,
            Attempt.ip_address,
            Attempt.user_agent,
        )
        .join(Pensioner, Attempt.pensioner_id == Pensioner.id)
        .outerjoin(Account, Attempt.account_id == Account.id)
        .outerjoin(StaffUser, Attempt.staff_user_id == StaffUser.id)
        .order_by(Attempt.started_at, Attempt.id)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for row in session.execute(statement):
        (id_number, started, finished, mode, for_other, phone, username, result, distance, ip, agent) = row
        by = f"account:{phone}" if phone else f"staff:{username}" if username else ""
        yield (
            id_number,
            _local_time(started),
            _local_time(finished),
            mode,
            "yes" if for_other else "no",
            by,
            result,
            round(distance, 4) if distance is not None else None,
            ip,
            agent,
        )


EXPORT_KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in (
        ExportKind(
            name="pensioners",
            description="Every pensioner with status, cycle, due date and the latest certification",
            headers=(
                "id_number",
                "name",
                "unit_code",
                "status",
                "cycle_start",
                "due_date",
                "last_certified_on",
                "last_method",
                "suspended_on",
                "resume_from",
            ),
            rows=pensioner_rows,
        ),
        ExportKind(
            name="payments",
            description="Every payroll row: regular, back pay and withheld, with the month it is for",
            headers=PAYMENT_COLUMNS,
            rows=payment_rows,
        ),
        ExportKind(
            name="overpayments",
            description="Payments for months after a recorded death, to recover",
            headers=OVERPAYMENT_COLUMNS,
            rows=overpayment_rows,
        ),
        ExportKind(
            name="attempts",
            description="Every certification attempt: for whom, by whom, when, mode, result and distance",
            headers=ATTEMPT_COLUMNS,
            rows=attempt_rows,
        ),
    )
}


def _plain(value: Cell | enum.Enum) -> Cell:
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _csv_text(value: Cell | enum.Enum) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def write_csv(kind: ExportKind, session: Session, settings: Mapping[str, Any], stream: IO[str]) -> int:
    """Write the header and every row; returns the number of rows."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(kind.headers)
    count = 0
    for row in kind.rows(session, settings):
        writer.writerow([_csv_text(value) for value in row])
        count += 1
    return count


def write_xlsx(
    kind: ExportKind, session: Session, settings: Mapping[str, Any], target: Path | IO[bytes]
) -> int:
    """One sheet named after the kind, dates as real dates, written row by row (write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(kind.name)
    sheet.append(list(kind.headers))
    count = 0
    for row in kind.rows(session, settings):
        cells: list[Any] = []
        for value in row:
            plain = _plain(value)
            if isinstance(plain, date) and not isinstance(plain, datetime):
                cell = WriteOnlyCell(sheet, value=plain)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(plain)
        sheet.append(cells)
        count += 1
    workbook.save(target)
    return count
