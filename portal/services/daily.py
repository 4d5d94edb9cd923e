"""The daily job (DESIGN.md §5): suspend the overdue, send reminders, then the other daily tasks.

Every step is one set-based statement over the pensioners table, so a day costs the same few queries for
ten pensioners or a million. A date runs once (the `daily_runs` row) and the unique key of
`cycle_notices` lets each reminder go out at most once per cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import (
    Account,
    Certification,
    CertificationMethod,
    CycleNotice,
    DailyRun,
    Pensioner,
    PensionerStatus,
    Suspension,
)
from portal.models.base import utcnow
from portal.services import cycle_texts
from portal.services.bulk import counted
from portal.services.certification import FRAMES_TASK, delete_expired_frames
from portal.services.cycle import due_date
from portal.services.messages import N_
from portal.services.sms import SmsBackend, Text, deliver_pending, queue_texts
from portal.services.validation import InvalidInput

SUSPENDED = "suspended"
LOOKUP_CHUNK = 900

# (session, date of the run, settings) -> how many things the task did.
DailyTask = Callable[[Session, date, Mapping[str, Any]], int]


def other_daily_tasks() -> list[tuple[str, DailyTask]]:
    """Named jobs that run inside every daily run, after suspensions and reminders.

    This is where housekeeping joins the daily job (deleting expired face frames, for one): import the
    task function here and add it to the list; its count is stored with the run and printed.
    """
    return [(FRAMES_TASK, delete_expired_frames)]


class LaterRunExists(InvalidInput):
    def __init__(self, latest: date) -> None:
        super().__init__(
            N_("The daily job has already run for a later date: it cannot run for an earlier one")
        )
        self.latest = latest


def reminder_kind(days_before: int) -> str:
    return f"reminder_{days_before}"


@dataclass
class DailyReport:
    run_on: date
    already_ran: bool = False
    suspended: int = 0
    reminded: int = 0
    texts: int = 0
    tasks: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    failed: int = 0


def run_daily(session: Session, on: date, config: Mapping[str, Any], backend: SmsBackend) -> DailyReport:
    """Run the daily job for `on` and commit; a date that already ran changes nothing."""
    previous = session.get(DailyRun, on)
    if previous is not None:
        return _already_ran(previous)
    latest = session.scalar(select(func.max(DailyRun.run_on)))
    if latest is not None and latest > on:
        raise LaterRunExists(latest)
    run = DailyRun(run_on=on, tasks={})
    session.add(run)
    try:
        # A second run started at the same moment waits here, then finds the date taken.
        session.flush()
    except IntegrityError:
        session.rollback()
        return _already_ran(session.get(DailyRun, on))

    cycle_days = int(config["CYCLE_DAYS"])
    run.suspended = suspend_overdue(session, on, cycle_days)
    run.reminded = record_reminders(session, on, cycle_days, config["REMINDER_DAYS"])
    run.texts = queue_texts(session, backend, notice_texts(session, on, cycle_days, config["SERVICE_PHONE"]))
    run.tasks = {name: task(session, on, config) for name, task in other_daily_tasks()}
    run.finished_at = utcnow()
    session.commit()
    # The statements above bypassed the identity map: reload pensioners the caller still holds.
    session.expire_all()
    delivered, failed = deliver_pending(session, backend)
    return DailyReport(
        run_on=on,
        suspended=run.suspended,
        reminded=run.reminded,
        texts=run.texts,
        tasks=dict(run.tasks),
        delivered=delivered,
        failed=failed,
    )


def _already_ran(run: DailyRun | None) -> DailyReport:
    if run is None:
        raise RuntimeError("a concurrent daily run took the date and then vanished")
    return DailyReport(run_on=run.run_on, already_ran=True, tasks={})


def suspend_overdue(session: Session, on: date, cycle_days: int) -> int:
    """Suspend every active pensioner overdue on `on` (due date before `on`), from `on`."""
    # cycle_start + cycle_days < on, written so the index on cycle_start serves it.
    expired_before = on - timedelta(days=cycle_days)
    result = session.execute(
        update(Pensioner)
        .where(Pensioner.status == PensionerStatus.ACTIVE, Pensioner.cycle_start < expired_before)
        .values(status=PensionerStatus.SUSPENDED, suspended_on=on, resume_from=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        insert(Suspension).from_select(
            ["pensioner_id", "suspended_on"],
            select(Pensioner.id, literal(on, Date)).where(
                Pensioner.status == PensionerStatus.SUSPENDED,
                Pensioner.suspended_on == on,
                ~exists().where(Suspension.pensioner_id == Pensioner.id, Suspension.suspended_on == on),
            ),
        )
    )
    session.execute(
        insert(CycleNotice).from_select(
            ["pensioner_id", "cycle_start", "kind", "sent_on"],
            select(Pensioner.id, Pensioner.cycle_start, literal(SUSPENDED), literal(on, Date)).where(
                Pensioner.status == PensionerStatus.SUSPENDED,
                Pensioner.suspended_on == on,
                ~_notice_exists(SUSPENDED),
            ),
        )
    )
    return result.rowcount


def reminder_windows(on: date, cycle_days: int, reminder_days: Sequence[int]) -> list[tuple[int, date, date]]:
    """(days before, first cycle start, last cycle start) of the pensioners each reminder is for on `on`.

    Reminder k goes out from k days before the due date until the next, closer reminder takes over, so a
    day the job missed is caught up, but never on or after the due date.
    """
    windows = []
    days = sorted({int(day) for day in reminder_days if int(day) > 0}, reverse=True)
    for index, before in enumerate(days):
        closer = days[index + 1] if index + 1 < len(days) else 0
        # due - before <= on < due - closer, with due = cycle_start + cycle_days
        first = on + timedelta(days=closer + 1 - cycle_days)
        last = on + timedelta(days=before - cycle_days)
        windows.append((before, first, last))
    return windows


def record_reminders(session: Session, on: date, cycle_days: int, reminder_days: Sequence[int]) -> int:
    total = 0
    for before, first, last in reminder_windows(on, cycle_days, reminder_days):
        kind = reminder_kind(before)
        result = session.execute(
            counted(insert(CycleNotice)).from_select(
                ["pensioner_id", "cycle_start", "kind", "sent_on"],
                select(Pensioner.id, Pensioner.cycle_start, literal(kind), literal(on, Date)).where(
                    Pensioner.status == PensionerStatus.ACTIVE,
                    Pensioner.cycle_start.between(first, last),
                    ~_notice_exists(kind),
                ),
            )
        )
        total += result.rowcount
    return total


def _notice_exists(kind: str):
    return exists().where(
        CycleNotice.pensioner_id == Pensioner.id,
        CycleNotice.cycle_start == Pensioner.cycle_start,
        CycleNotice.kind == kind,
    )


def notice_texts(session: Session, on: date, cycle_days: int, service_phone: str) -> list[Text]:
    """The texts for the notices recorded on `on`: to the pensioner, and reminders to their helpers."""
    rows = session.execute(
        select(CycleNotice.kind, Pensioner.id, Pensioner.name, Pensioner.phone, Pensioner.cycle_start)
        .join(Pensioner, Pensioner.id == CycleNotice.pensioner_id)
        .where(CycleNotice.sent_on == on)
        .order_by(Pensioner.id)
    ).all()
    texts: list[Text] = []
    reminded: dict[int, tuple[str, str | None, date, str]] = {}
    for kind, pensioner_id, name, phone, cycle_start in rows:
        due = due_date(cycle_start, cycle_days)
        if kind == SUSPENDED:
            if phone:
                texts.append(Text(phone, cycle_texts.suspended(due, service_phone), SUSPENDED))
            continue
        reminded[pensioner_id] = (name, phone, due, kind)
        if phone:
            texts.append(Text(phone, cycle_texts.reminder(due, service_phone), kind))
    for pensioner_id, phones in _helper_phones(session, reminded).items():
        name, own_phone, due, kind = reminded[pensioner_id]
        for phone, is_self in sorted(phones.items()):
            if phone == own_phone:
                continue
            body = (
                cycle_texts.reminder(due, service_phone)
                if is_self
                else cycle_texts.helper_reminder(name, due, service_phone)
            )
            texts.append(Text(phone, body, kind))
    return texts


def _helper_phones(
    session: Session, reminded: Mapping[int, tuple[str, str | None, date, str]]
) -> dict[int, dict[str, bool]]:
    """Phones of the accounts that certified each pensioner in the current cycle: {id: {phone: own account}}."""
    certifiers: dict[int, dict[int, bool]] = defaultdict(dict)
    ids = list(reminded)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for pensioner_id, recorded_by, method in session.execute(
            select(Certification.pensioner_id, Certification.recorded_by, Certification.method)
            .join(Pensioner, Pensioner.id == Certification.pensioner_id)
            .where(
                Certification.pensioner_id.in_(chunk),
                Certification.certified_on >= Pensioner.cycle_start,
                Certification.recorded_by.like("account:%"),
            )
        ):
            account_id = recorded_by.removeprefix("account:")
            if account_id.isdigit():
                own = method is CertificationMethod.SELF
                certifiers[pensioner_id][int(account_id)] = (
                    certifiers[pensioner_id].get(int(account_id), False) or own
                )
    account_ids = sorted({account for accounts in certifiers.values() for account in accounts})
    phone_of: dict[int, str] = {}
    for start in range(0, len(account_ids), LOOKUP_CHUNK):
        chunk = account_ids[start : start + LOOKUP_CHUNK]
        phone_of.update(session.execute(select(Account.id, Account.phone).where(Account.id.in_(chunk))).all())
    phones: dict[int, dict[str, bool]] = {}
    for pensioner_id, accounts in certifiers.items():
        for account_id, own in accounts.items():
            if account_id in phone_of:
                phones.setdefault(pensioner_id, {})[phone_of[account_id]] = own
    return phones
