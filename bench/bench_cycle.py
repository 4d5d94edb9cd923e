"""Cycle engine at provincial scale: `daily` for one date and `payroll` for one month over 1,000,000 pensioners.

Target (issue 3): each under 60 s on SQLite on this 2-core machine, reported on PostgreSQL too (set
PORTAL_BENCH_POSTGRES_URL, or PORTAL_TEST_POSTGRES_URL, to a server URL whose role may create databases).
The floor is one bare `UPDATE pensioners SET monthly_amount_fen = monthly_amount_fen` over the same table.

The generated registry looks like a running service on RUN_DAY: most pensioners certified within the last
year (so about 2,700 fall due each day), 3 % certified long ago and already suspended by earlier daily runs
(plus those due yesterday, whom today's run suspends), 0.5 % resumed last month with two withheld months to
back-pay, 1 % dead; 30 % certified by a helper's account. Before the timed runs the payrolls of the two
previous months and the daily job of the previous day run, as they would have.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

PENSIONERS = int(os.environ.get("BENCH_CYCLE_PENSIONERS", 1_000_000))
ACCOUNTS = PENSIONERS // 5
UNITS = 2_000
RUN_DAY = date(2026, 6, 10)
MONTH = date(2026, 6, 1)
CHUNK = 50_000
TARGET_SECONDS = 60


def stamp(moment: datetime, dialect: str) -> str:
    return moment.isoformat(sep=" ") if dialect == "postgresql" else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def id_number(serial: int) -> str:
    from portal.services.validation import check_character

    birth = date(1940, 1, 1) + timedelta(days=serial // 1000)
    first_17 = f"411702{birth:%Y%m%d}{serial % 1000:03d}"
    return first_17 + check_character(first_17)


def generate(dialect: str) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """(table, columns, rows) chunks of the whole registry, in foreign-key order."""
    rng = random.Random(3)
    now = stamp(datetime(2026, 6, 9, 20, 0, tzinfo=UTC), dialect)
    yield (
        "units",
        ["id", "code", "name", "created_at", "updated_at"],
        [(unit, f"4117{unit:06d}", f"驻马店市第{unit}单位", now, now) for unit in range(1, UNITS + 1)],
    )
    for start in range(1, ACCOUNTS + 1, CHUNK):
        yield (
            "accounts",
            [
                "id",
                "phone",
                "password_hash",
                "real_name",
                "id_number",
                "is_service_point",
                "created_at",
                "updated_at",
            ],
            [
                (
                    account,
                    f"138{account:08d}",
                    "x",
                    "帮助人",
                    id_number(PENSIONERS + account),
                    False,
                    now,
                    now,
                )
                for account in range(start, min(start + CHUNK, ACCOUNTS + 1))
            ],
        )
    for start in range(1, PENSIONERS + 1, CHUNK):
        pensioners, certifications, suspensions = [], [], []
        for serial in range(start, min(start + CHUNK, PENSIONERS + 1)):
            share = rng.random()
            benefit_start = date(1996, 1, 1) + timedelta(days=rng.randrange(30 * 365 - 400))
            status, suspended_on, resume_from, terminated_on = "active", None, None, None
            if share < 0.03:
                # Certified long ago: suspended by an earlier run, or due yesterday and suspended today.
                cycle_start = RUN_DAY - timedelta(days=366 + rng.randrange(200))
                if cycle_start < RUN_DAY - timedelta(days=366):
                    status, suspended_on = "suspended", cycle_start + timedelta(days=366)
            elif share < 0.035:
                # Suspended before April, certified in May: paid again from June with two months' back pay.
                suspended_on = date(2026, 3, 1) + timedelta(days=rng.randrange(31))
                cycle_start = date(2026, 5, 1) + timedelta(days=rng.randrange(31))
                resume_from = MONTH
            elif share < 0.045:
                cycle_start = RUN_DAY - timedelta(days=rng.randrange(1, 366))
                status, terminated_on = "terminated", RUN_DAY - timedelta(days=rng.randrange(1, 700))
            else:
                cycle_start = RUN_DAY - timedelta(days=rng.randrange(1, 366))
            cycle_start = max(cycle_start, benefit_start)
            pensioners.append(
                (
                    serial,
                    id_number(serial),
                    "测试人员",
                    rng.randrange(1, UNITS + 1),
                    f"139{serial:08d}",
                    benefit_start,
                    rng.randrange(280_000, 760_000),
                    "retiree",
                    status,
                    cycle_start,
                    suspended_on,
                    resume_from,
                    terminated_on,
                    now,
                    now,
                )
            )
            helper = rng.random() < 0.3
            certifications.append(
                (
                    serial,
                    cycle_start,
                    "other" if helper else "self",
                    f"account:{rng.randrange(1, ACCOUNTS + 1)}"
                    if helper
                    else f"account:{serial % ACCOUNTS + 1}",
                    "",
                    now,
                )
            )
            if suspended_on is not None:
                resumed_on = cycle_start if resume_from else None
                suspensions.append((serial, suspended_on, resumed_on, resume_from))
        yield (
            "pensioners",
            [
                "id",
                "id_number",
                "name",
                "unit_id",
                "phone",
                "benefit_start",
                "monthly_amount_fen",
                "beneficiary_type",
                "status",
                "cycle_start",
                "suspended_on",
                "resume_from",
                "terminated_on",
                "created_at",
                "updated_at",
            ],
            pensioners,
        )
        yield (
            "certifications",
            ["pensioner_id", "certified_on", "method", "recorded_by", "note", "recorded_at"],
            certifications,
        )
        yield ("suspensions", ["pensioner_id", "suspended_on", "resumed_on", "resume_from"], suspensions)


def load(engine: Engine) -> float:
    """Bulk-load the registry: executemany on SQLite, COPY on PostgreSQL; returns seconds."""
    started = time.perf_counter()
    dialect = engine.dialect.name
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
        for table, columns, rows in generate(dialect):
            if not rows:
                continue
            if dialect == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    [
                        tuple(value.isoformat() if isinstance(value, date) else value for value in row)
                        for row in rows
                    ],
                )
        if dialect == "postgresql":
            for table in ("units", "accounts", "pensioners", "certifications", "suspensions"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        connection.commit()
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous = FULL")
    finally:
        connection.close()
    return time.perf_counter() - started


def timed(label: str, work: Callable[[], Any], results: list[tuple[str, float, str]]) -> Any:
    started = time.perf_counter()
    outcome = work()
    seconds = time.perf_counter() - started
    results.append((label, seconds, describe(outcome)))
    print(f"  {label}: {seconds:.2f} s  {describe(outcome)}", flush=True)
    return outcome


def describe(outcome: Any) -> str:
    from portal.services.daily import DailyReport
    from portal.services.payroll import PayrollReport

    if isinstance(outcome, DailyReport):
        return f"({outcome.suspended:,} suspended, {outcome.reminded:,} reminded, {outcome.texts:,} texts)"
    if isinstance(outcome, PayrollReport):
        return f"({outcome.regular:,} regular, {outcome.withheld:,} withheld, {outcome.back_pay:,} back pay)"
    if isinstance(outcome, int):
        return f"({outcome:,} rows)"
    return ""


def run_on(engine: Engine, name: str) -> list[tuple[str, float, str]]:
    from portal.config import DefaultConfig
    from portal.services.daily import run_daily
    from portal.services.payroll import run_payroll
    from portal.services.schema import upgrade_to_latest
    from portal.services.sms import OutboxBackend

    config = {key: getattr(DefaultConfig, key) for key in dir(DefaultConfig) if key.isupper()}
    results: list[tuple[str, float, str]] = []
    print(f"{name}: {PENSIONERS:,} pensioners", flush=True)
    upgrade_to_latest(engine)
    seconds = load(engine)
    results.append(("bulk load (pensioners, certifications, accounts, suspensions)", seconds, ""))
    print(f"  bulk load: {seconds:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load; SQLite keeps no statistics unless asked, and is not.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    factory = sessionmaker(engine, expire_on_commit=False)

    def in_session(job: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with factory() as session:
                return job(session)

        return run

    backend = OutboxBackend()
    for month in (date(2026, 4, 1), date(2026, 5, 1)):
        timed(
            f"payroll {month:%Y-%m} (history)",
            in_session(lambda session, month=month: run_payroll(session, month, RUN_DAY)),
            results,
        )
    previous = RUN_DAY - timedelta(days=1)
    timed(
        f"daily {previous} (first run: every reminder window)",
        in_session(lambda session: run_daily(session, previous, config, backend)),
        results,
    )
    timed(
        f"daily {RUN_DAY}",
        in_session(lambda session: run_daily(session, RUN_DAY, config, backend)),
        results,
    )
    timed(
        f"daily {RUN_DAY} again (already ran)",
        in_session(lambda session: run_daily(session, RUN_DAY, config, backend)),
        results,
    )
    timed(
        f"payroll {MONTH:%Y-%m}",
        in_session(lambda session: run_payroll(session, MONTH, RUN_DAY)),
        results,
    )
    timed(
        f"payroll {MONTH:%Y-%m} again",
        in_session(lambda session: run_payroll(session, MONTH, RUN_DAY)),
        results,
    )

    def bare_update() -> int:
        with engine.begin() as connection:
            return connection.execute(
                text("UPDATE pensioners SET monthly_amount_fen = monthly_amount_fen")
            ).rowcount

    timed("bare UPDATE of every pensioner (floor)", bare_update, results)
    with engine.connect() as connection:
        payments = connection.scalar(select(func.count()).select_from(text("payments")))
    print(f"  payments table: {payments:,} rows", flush=True)
    floor = results[-1][1]
    for label, seconds, _ in results:
        if label.startswith((f"daily {RUN_DAY}", f"payroll {MONTH:%Y-%m}")) and "again" not in label:
            verdict = "OK" if seconds < TARGET_SECONDS else "TOO SLOW"
            print(f"  {label}: {seconds / floor:.2f}× the bare UPDATE  [{verdict}]", flush=True)
    return results


def main() -> None:
    from portal.database import make_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'bench.db'}")
        try:
            run_on(engine, "SQLite")
        finally:
            engine.dispose()

    server = os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL")
    if not server:
        print("PostgreSQL: skipped (set PORTAL_BENCH_POSTGRES_URL or PORTAL_TEST_POSTGRES_URL)")
        return
    name = f"portal_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(make_url(server).set(database=name).render_as_string(hide_password=False))
        try:
            run_on(engine, "PostgreSQL")
        finally:
            engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
