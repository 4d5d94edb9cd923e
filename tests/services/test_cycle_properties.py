"""Random three-year histories through the real jobs, checking the invariants of the cycle engine.

Each example draws, month by month, the days the daily job ran (or missed), the day payroll ran (late,
out of order, or twice), certifications (face, back-dated offline), evidence files and death files,
and re-runs of any job; then it checks what the payments and the ledger must satisfy.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from portal.config import DefaultConfig
from portal.database import make_engine
from portal.models import (
    CertificationMethod,
    CycleNotice,
    DailyRun,
    DeathRecord,
    OfflineChannel,
    Payment,
    PaymentKind,
    Pensioner,
    PensionerStatus,
    SmsMessage,
    Suspension,
    Unit,
)
from portal.models.cycle import Certification
from portal.services.cycle import due_date, month_start, record_certification
from portal.services.daily import run_daily
from portal.services.deaths import import_deaths, overpayment_rows
from portal.services.evidence import import_evidence
from portal.services.payroll import run_payroll
from portal.services.schema import upgrade_to_latest
from portal.services.sms import OutboxBackend
from tests.databases import POSTGRES_URL, SKIP_REASON, empty_database, fresh_postgres_database
from tests.factories import make_id_number

CONFIG = {name: getattr(DefaultConfig, name) for name in dir(DefaultConfig) if name.isupper()}
START = date(2024, 1, 1)
MONTHS = 36
PEOPLE = 4
# About half a minute of CPU on SQLite; PostgreSQL runs every fifth example (the same code, a slower round trip).
EXAMPLES = 50
POSTGRES_SHARE = 5


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine("sqlite://", poolclass=StaticPool)
        upgrade_to_latest(engine)
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    with fresh_postgres_database(POSTGRES_URL) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@dataclass
class Person:
    benefit_start: date
    cycle_start: date


# One month of history: (day, action, details) events, applied in day order.
history_event = st.one_of(
    st.tuples(st.integers(1, 28), st.just("daily"), st.none()),
    st.tuples(st.integers(1, 28), st.just("face"), st.integers(0, PEOPLE - 1)),
    st.tuples(
        st.integers(1, 28), st.just("offline"), st.tuples(st.integers(0, PEOPLE - 1), st.integers(0, 30))
    ),
    st.tuples(
        st.integers(1, 28), st.just("evidence"), st.tuples(st.integers(0, PEOPLE - 1), st.integers(0, 420))
    ),
    st.tuples(
        st.integers(1, 28), st.just("death"), st.tuples(st.integers(0, PEOPLE - 1), st.integers(0, 60))
    ),
)
month_plan = st.fixed_dictionaries(
    {
        # Most months run daily every week or so; some miss days, some miss the whole month.
        "daily": st.lists(st.integers(1, 28), max_size=2),
        # None: this month's payroll is skipped and runs late with a later month's.
        "payroll": st.one_of(st.none(), st.integers(1, 28)),
        "late_first": st.booleans(),
        "events": st.lists(history_event, max_size=3).filter(
            lambda events: sum(1 for _, action, _ in events if action == "death") <= 1
        ),
        # Some months re-run every job they ran, right after it.
        "rerun": st.integers(0, 3).map(lambda draw: draw == 0),
    }
)
person = st.builds(
    Person,
    benefit_start=st.dates(date(2022, 6, 1), date(2024, 6, 30)),
    cycle_start=st.dates(date(2023, 1, 1), date(2024, 3, 31)),
)


@dataclass
class Journal:
    """What the test itself knows about the history, to judge the database by."""

    payroll_runs: list[tuple[date, date]] = field(default_factory=list)  # (month, run on), in order
    deaths_known: dict[int, tuple[date, date]] = field(default_factory=dict)  # id: (died_on, known on)
    paid_after_death_at_import: dict[int, int] = field(default_factory=dict)


def snapshot(session: Session) -> tuple:
    """Everything a job may change, without the timestamps of when it ran."""
    session.expire_all()
    return (
        session.execute(
            select(
                Pensioner.id,
                Pensioner.status,
                Pensioner.cycle_start,
                Pensioner.suspended_on,
                Pensioner.resume_from,
                Pensioner.terminated_on,
            ).order_by(Pensioner.id)
        ).all(),
        session.execute(
            select(
                Payment.pensioner_id, Payment.month, Payment.kind, Payment.amount_fen, Payment.for_month
            ).order_by(Payment.id)
        ).all(),
        session.execute(
            select(Suspension.pensioner_id, Suspension.suspended_on, Suspension.resume_from)
        ).all(),
        session.execute(select(CycleNotice.pensioner_id, CycleNotice.cycle_start, CycleNotice.kind)).all(),
        session.execute(
            select(Certification.pensioner_id, Certification.certified_on, Certification.method)
        ).all(),
        session.execute(select(DeathRecord.pensioner_id, DeathRecord.died_on)).all(),
        session.execute(select(SmsMessage.phone, SmsMessage.body)).all(),
        session.execute(select(DailyRun.run_on)).all(),
    )


def write_file(directory: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    path = directory / name
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def play_history(session: Session, people: list[Pensioner], plans: list[dict], folder: Path) -> Journal:
    journal = Journal()
    backend = OutboxBackend()
    pending: list[date] = []
    serial = 0

    def twice(job, rerun: bool) -> None:
        job()
        if rerun:
            before = snapshot(session)
            job()
            assert snapshot(session) == before, "running a job twice changed something"

    for number, plan in enumerate(plans):
        first = date(START.year + (START.month - 1 + number) // 12, (START.month - 1 + number) % 12 + 1, 1)
        pending.append(first)
        steps: list[tuple[int, str, object]] = [(day, "daily", None) for day in plan["daily"]]
        steps += plan["events"]
        if plan["payroll"] is not None:
            steps.append((plan["payroll"], "payroll", None))
        for day, action, details in sorted(steps, key=lambda step: step[0]):
            today = first.replace(day=day)
            if action == "daily":
                latest = session.scalar(select(DailyRun.run_on).order_by(DailyRun.run_on.desc()).limit(1))
                if latest is not None and latest > today:
                    continue
                twice(lambda today=today: run_daily(session, today, CONFIG, backend), plan["rerun"])
                for pensioner in people:
                    if pensioner.status is PensionerStatus.ACTIVE:
                        assert today <= due_date(pensioner.cycle_start), "an overdue pensioner stayed active"
            elif action == "payroll":
                months = sorted(pending, reverse=not plan["late_first"])
                pending.clear()
                for month in months:
                    twice(lambda month=month, today=today: run_payroll(session, month, today), plan["rerun"])
                    journal.payroll_runs.append((month, today))
            elif action in ("face", "offline"):
                index, back = (details, 0) if action == "face" else details
                pensioner = people[index]
                if pensioner.status is PensionerStatus.TERMINATED:
                    continue
                record_certification(
                    session,
                    pensioner,
                    today - timedelta(days=back),
                    CertificationMethod.SELF if action == "face" else CertificationMethod.OFFLINE,
                    "account:1" if action == "face" else "staff:1",
                    "" if action == "face" else "上门认证",
                    today,
                    channel=None if action == "face" else OfflineChannel.HOME_VISIT,
                )
                session.commit()
            elif action == "evidence":
                index, back = details
                pensioner = people[index]
                serial += 1
                path = write_file(
                    folder,
                    f"evidence-{serial}.csv",
                    ["id_number", "name", "observed_on", "source"],
                    [
                        [
                            pensioner.id_number,
                            pensioner.name,
                            (today - timedelta(days=back)).isoformat(),
                            "医保",
                        ]
                    ],
                )

                def evidence(path: Path = path, today: date = today) -> None:
                    before = snapshot(session)
                    result = import_evidence(session, path, today=today, config=CONFIG, backend=backend)
                    if not result.ok:
                        assert snapshot(session) == before, "a refused evidence file changed something"

                twice(evidence, plan["rerun"])
            elif action == "death":
                index, back = details
                pensioner = people[index]
                if pensioner.benefit_start > today:
                    continue
                died_on = max(today - timedelta(days=back), pensioner.benefit_start)
                serial += 1
                path = write_file(
                    folder,
                    f"deaths-{serial}.csv",
                    ["id_number", "name", "died_on"],
                    [[pensioner.id_number, pensioner.name, died_on.isoformat()]],
                )
                known = pensioner.id in journal.deaths_known
                before = snapshot(session)
                result = import_deaths(session, path, today=today)
                if known:
                    assert result.ok == (journal.deaths_known[pensioner.id][0] == died_on)
                    assert snapshot(session) == before
                else:
                    assert result.ok
                    journal.deaths_known[pensioner.id] = (died_on, today)
                    journal.paid_after_death_at_import[pensioner.id] = len(
                        paid_after_death(session, pensioner.id)
                    )
                if plan["rerun"]:
                    before = snapshot(session)
                    import_deaths(session, path, today=today)
                    assert snapshot(session) == before
    return journal


def paid_after_death(session: Session, pensioner_id: int) -> list[Payment]:
    death = session.scalar(select(DeathRecord).where(DeathRecord.pensioner_id == pensioner_id))
    return [
        payment
        for payment in session.scalars(select(Payment).where(Payment.pensioner_id == pensioner_id))
        if payment.kind is not PaymentKind.WITHHELD
        and death is not None
        and payment.for_month > death.died_on
    ]


def check_invariants(session: Session, people: list[Pensioner], journal: Journal) -> None:
    payments = session.scalars(select(Payment).order_by(Payment.id)).all()
    suspensions = session.scalars(select(Suspension)).all()
    by_person: dict[int, list[Payment]] = defaultdict(list)
    for payment in payments:
        by_person[payment.pensioner_id].append(payment)
    first_run: dict[date, date] = {}
    for month, run_on in journal.payroll_runs:
        first_run.setdefault(month, run_on)

    for pensioner in people:
        rows = by_person[pensioner.id]
        mine = [s for s in suspensions if s.pensioner_id == pensioner.id]
        death = journal.deaths_known.get(pensioner.id)

        def dead_before(month: date, on: date, death: tuple[date, date] | None = death) -> bool:
            """Was the death known on `on`, and was it before `month`?"""
            return death is not None and death[1] <= on and death[0] < month

        # No month is paid twice.
        paid = [(row.for_month) for row in rows if row.kind is not PaymentKind.WITHHELD]
        assert len(paid) == len(set(paid)), "a month was paid twice"
        assert all(row.for_month >= month_start(pensioner.benefit_start) for row in rows)

        # Each payroll run decides each eligible month once: paid or withheld.
        for month, run_on in first_run.items():
            decided = [r for r in rows if r.for_month == month and r.kind is not PaymentKind.BACK_PAY]
            eligible = month >= month_start(pensioner.benefit_start) and not dead_before(month, run_on)
            assert len(decided) == (1 if eligible else 0), (month, decided)
            if decided:
                assert decided[0].month == month

        # A pensioner never suspended is paid every month from the benefit start, as a regular payment.
        if not mine:
            assert all(row.kind is PaymentKind.REGULAR for row in rows)

        # Every withheld month is back-paid once, with the first payroll from resume_from; never before.
        for row in rows:
            if row.kind is not PaymentKind.WITHHELD:
                continue
            [covering] = [
                s
                for s in mine
                if s.suspended_on <= row.for_month
                and (s.resume_from is None or s.resume_from > row.for_month)
            ]
            back = [r for r in rows if r.kind is PaymentKind.BACK_PAY and r.for_month == row.for_month]
            # The first payroll run for a month from resume_from after the run that withheld this month.
            withheld_by = next(
                i for i, (month, _) in enumerate(journal.payroll_runs) if month == row.for_month
            )
            first_after = next(
                (
                    (month, run_on)
                    for month, run_on in journal.payroll_runs[withheld_by + 1 :]
                    if covering.resume_from is not None and month >= covering.resume_from
                ),
                None,
            )
            expected = first_after is not None and not dead_before(row.for_month, first_after[1])
            if expected:
                assert len(back) == 1 and back[0].month == first_after[0], (row.for_month, back, first_after)
                assert back[0].amount_fen == row.amount_fen
            else:
                assert back == [], (row.for_month, back)
        for row in rows:
            if row.kind is PaymentKind.BACK_PAY:
                assert any(w.kind is PaymentKind.WITHHELD and w.for_month == row.for_month for w in rows)

        # Nothing for months after a death once it is known; what was paid before is listed for recovery.
        if death is not None:
            after = paid_after_death(session, pensioner.id)
            assert len(after) == journal.paid_after_death_at_import[pensioner.id]
            listed = [row for row in overpayment_rows(session, CONFIG) if row[0] == pensioner.id_number]
            assert sum(row[4] for row in listed) * 100 == sum(payment.amount_fen for payment in after)
            assert pensioner.status is PensionerStatus.TERMINATED


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    people=st.lists(person, min_size=PEOPLE, max_size=PEOPLE),
    plans=st.lists(month_plan, min_size=MONTHS, max_size=MONTHS),
    data=st.data(),
)
def test_random_three_year_histories_keep_the_invariants(
    engine: Engine, tmp_path_factory, people, plans, data
):
    if engine.dialect.name == "postgresql" and data.draw(st.integers(1, POSTGRES_SHARE)) != 1:
        return
    empty_database(engine)
    folder = tmp_path_factory.mktemp("history")
    with sessionmaker(engine, expire_on_commit=False)() as session:
        unit = Unit(code="U1", name="驻马店市教育局")
        session.add(unit)
        pensioners = []
        for index, drawn in enumerate(people):
            pensioner = Pensioner(
                id_number=make_id_number(sequence=index),
                name=f"测试{index}",
                unit=unit,
                phone=f"1391234000{index}",
                benefit_start=drawn.benefit_start,
                cycle_start=max(drawn.cycle_start, drawn.benefit_start),
                monthly_amount_fen=300_000 + index,
                status=PensionerStatus.ACTIVE,
            )
            session.add(pensioner)
            pensioners.append(pensioner)
        session.commit()
        journal = play_history(session, pensioners, plans, folder)
        session.expire_all()
        check_invariants(session, pensioners, journal)
        # Shown by --hypothesis-show-statistics: how often the histories reach each rule.
        kinds = set(session.scalars(select(Payment.kind)))
        for kind in sorted(kinds):
            event(f"payments: {kind.value}")
        if any(paid_after_death(session, pensioner.id) for pensioner in pensioners):
            event("overpayment")
