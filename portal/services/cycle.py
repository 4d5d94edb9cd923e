"""The certification cycle of DESIGN.md §1: due dates, overdue, suspension and resumption.

A cycle lasts CYCLE_DAYS calendar days, not "one year": with 365 days, a certification on 2024-02-29 is
due on 2025-02-28, one on 2023-03-01 is due on 2024-02-29, and one on 2024-03-01 on 2025-03-01. The
pensioner is covered up to and including the due date and overdue from the day after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.config import DefaultConfig
from portal.models import (
    Certification,
    CertificationMethod,
    OfflineChannel,
    Pensioner,
    PensionerStatus,
    Suspension,
)
from portal.services.messages import N_
from portal.services.validation import InvalidInput

OFFLINE_BACKDATE_DAYS = 30
DEFAULT_CYCLE_DAYS: int = DefaultConfig.CYCLE_DAYS


def due_date(cycle_start: date, cycle_days: int = DEFAULT_CYCLE_DAYS) -> date:
    """The last day the certification covers."""
    return cycle_start + timedelta(days=cycle_days)


def is_overdue(cycle_start: date, on: date, cycle_days: int = DEFAULT_CYCLE_DAYS) -> bool:
    return on > due_date(cycle_start, cycle_days)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the month of `day` (次月)."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class CertificationOutcome:
    certification: Certification
    # The certification is later than the cycle start, so the due date moved.
    cycle_moved: bool
    # The pensioner was suspended and is paid again from resume_from.
    resumed: bool
    due_date: date
    resume_from: date | None


def record_certification(
    session: Session,
    pensioner: Pensioner,
    on: date,
    method: CertificationMethod,
    recorded_by: str,
    note: str = "",
    today: date | None = None,
    *,
    channel: OfflineChannel | None = None,
    cycle_days: int = DEFAULT_CYCLE_DAYS,
) -> CertificationOutcome:
    """Add a success to the ledger and apply it to the cycle; the caller commits.

    `on` is the day the proof counts for; `today` is the processing date, which decides the month payment
    resumes from, so a back-dated certification recorded in May resumes payment from June.
    """
    today = today or on
    # Lock the row: the daily job may be suspending this pensioner at the same moment.
    pensioner = session.execute(
        select(Pensioner)
        .where(Pensioner.id == pensioner.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    note = (note or "").strip()
    if pensioner.status is PensionerStatus.TERMINATED:
        raise InvalidInput(N_("Payment to this pensioner has ended, so no certification can be recorded"))
    if on > today:
        raise InvalidInput(N_("The certification date cannot be in the future"))
    if method is CertificationMethod.OFFLINE:
        if channel is None:
            raise InvalidInput(N_("Choose how the person was seen: home visit, counter, video call or other"))
        if not note:
            raise InvalidInput(N_("Enter a note saying who saw the person, where and how"))
        if on < today - timedelta(days=OFFLINE_BACKDATE_DAYS):
            raise InvalidInput(N_("An offline certification can be dated at most 30 days back"))
    elif channel is not None:
        raise InvalidInput(N_("Only an offline certification has a channel"))

    certification = Certification(
        pensioner_id=pensioner.id,
        certified_on=on,
        method=method,
        recorded_by=recorded_by,
        note=note,
        channel=channel,
    )
    session.add(certification)
    cycle_moved = on > pensioner.cycle_start
    if cycle_moved:
        pensioner.cycle_start = on
    resumed = False
    # Evidence can be old: it resumes payment only if it covers the processing date.
    if pensioner.status is PensionerStatus.SUSPENDED and not is_overdue(
        pensioner.cycle_start, today, cycle_days
    ):
        resumed = True
        pensioner.status = PensionerStatus.ACTIVE
        pensioner.resume_from = next_month(today)
        session.execute(
            update(Suspension)
            .where(Suspension.pensioner_id == pensioner.id, Suspension.resumed_on.is_(None))
            .values(resumed_on=today, resume_from=pensioner.resume_from)
        )
    session.flush()
    return CertificationOutcome(
        certification=certification,
        cycle_moved=cycle_moved,
        resumed=resumed,
        due_date=due_date(pensioner.cycle_start, cycle_days),
        resume_from=pensioner.resume_from if resumed else None,
    )


@dataclass(frozen=True)
class CycleStatus:
    """Where a pensioner stands on a day, for pages, the phone line and commands."""

    # "current", "due_today", "overdue" (expired, the daily job has not suspended yet), "suspended",
    # "terminated"
    state: str
    cycle_start: date
    due_date: date
    # Days from `today` to the due date; negative once overdue.
    days_left: int
    suspended_on: date | None
    # Set while a resumption is still ahead: the first month paid again, with back pay.
    resume_from: date | None
    terminated_on: date | None


def cycle_status(pensioner: Pensioner, today: date, cycle_days: int = DEFAULT_CYCLE_DAYS) -> CycleStatus:
    due = due_date(pensioner.cycle_start, cycle_days)
    days_left = (due - today).days
    if pensioner.status is PensionerStatus.TERMINATED:
        state = "terminated"
    elif pensioner.status is PensionerStatus.SUSPENDED:
        state = "suspended"
    elif days_left < 0:
        state = "overdue"
    elif days_left == 0:
        state = "due_today"
    else:
        state = "current"
    resume_from = pensioner.resume_from
    return CycleStatus(
        state=state,
        cycle_start=pensioner.cycle_start,
        due_date=due,
        days_left=days_left,
        suspended_on=pensioner.suspended_on if state == "suspended" else None,
        resume_from=resume_from if state == "current" and resume_from and resume_from > today else None,
        terminated_on=pensioner.terminated_on if state == "terminated" else None,
    )


STATUS_MESSAGES = {
    "current": N_("Certified until %(due_date)s: %(days)d days left"),
    "current_one_day": N_("Certified until %(due_date)s: 1 day left"),
    "current_resuming": N_(
        "Certified until %(due_date)s: %(days)d days left. "
        "Payment resumes from %(resume_month)s, with back pay for the suspended months"
    ),
    "due_today": N_("Certification runs out today, %(due_date)s: certify today to keep being paid"),
    "overdue": N_(
        "Certification ran out on %(due_date)s: payment will be suspended until the pensioner certifies"
    ),
    "suspended": N_(
        "Payment suspended since %(suspended_on)s because certification ran out on %(due_date)s. "
        "After certifying, payment resumes the next month with back pay"
    ),
    "terminated": N_("Payment ended: the pensioner died on %(terminated_on)s"),
}


def status_in_words(
    status: CycleStatus,
    translate: Callable[[str], str],
    long_date: Callable[[date], str],
    year_month: Callable[[date], str],
) -> str:
    """The status in plain words; pass gettext and the date formats of the reader's language."""
    key = status.state
    if key == "current" and status.resume_from is not None:
        key = "current_resuming"
    elif key == "current" and status.days_left == 1:
        key = "current_one_day"
    params: dict[str, Any] = {
        "due_date": long_date(status.due_date),
        "days": status.days_left,
        "suspended_on": long_date(status.suspended_on) if status.suspended_on else "",
        "terminated_on": long_date(status.terminated_on) if status.terminated_on else "",
        "resume_month": year_month(status.resume_from) if status.resume_from else "",
    }
    return translate(STATUS_MESSAGES[key]) % params


@dataclass(frozen=True)
class StatusCounts:
    active: int
    suspended: int
    terminated: int
    # Active pensioners whose due date is today or within the next `soon_days` days.
    due_soon: int
    # Active pensioners past their due date whom the daily job has not suspended yet.
    overdue: int


def status_counts(
    session: Session,
    today: date,
    cycle_days: int = DEFAULT_CYCLE_DAYS,
    unit_id: int | None = None,
    soon_days: int = 30,
) -> StatusCounts:
    """Pensioners by status for the back office, optionally for one unit, in two grouped queries."""
    by_status = select(Pensioner.status, func.count()).group_by(Pensioner.status)
    # due_date = cycle_start + cycle_days, so due-date windows are cycle_start windows shifted back.
    latest_covered = today - timedelta(days=cycle_days)
    timing = select(
        func.count().filter(
            Pensioner.cycle_start >= latest_covered,
            Pensioner.cycle_start <= latest_covered + timedelta(days=soon_days),
        ),
        func.count().filter(Pensioner.cycle_start < latest_covered),
    ).where(Pensioner.status == PensionerStatus.ACTIVE)
    if unit_id is not None:
        by_status = by_status.where(Pensioner.unit_id == unit_id)
        timing = timing.where(Pensioner.unit_id == unit_id)
    counts = {status: 0 for status in PensionerStatus} | dict(session.execute(by_status).all())
    due_soon, overdue = session.execute(timing).one()
    return StatusCounts(
        active=counts[PensionerStatus.ACTIVE],
        suspended=counts[PensionerStatus.SUSPENDED],
        terminated=counts[PensionerStatus.TERMINATED],
        due_soon=due_soon,
        overdue=overdue,
    )
