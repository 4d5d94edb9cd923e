"""Registry import: a 1,000-row CSV with Chinese headers (no photos) must import in well under 10 s.

Also: the same file with one bad check digit is refused and leaves the database unchanged, a re-import
(every row unchanged), and the same rows as XLSX. Each run gets a fresh SQLite database.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

ROWS = 1000
HEADER = ["身份证号码", "姓名", "单位编码", "单位名称", "待遇确认日期", "月待遇金额", "联系电话", "照片"]
ROOT = Path(__file__).resolve().parent.parent


def registry_rows(count: int) -> list[list[str]]:
    from portal.services.validation import check_character

    rng = random.Random(1000)
    rows = []
    for number in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(25 * 365))
        first_17 = f"4117{rng.choice(('02', '21', '22', '23', '24', '25'))}{birth:%Y%m%d}{number % 1000:03d}"
        unit = number % 20
        rows.append(
            [
                first_17 + check_character(first_17),
                rng.choice("王李张刘陈杨赵黄周吴")
                + rng.choice(("建国", "秀英", "桂兰", "志强", "玉兰", "德明")),
                f"411701{unit:02d}",
                f"驻马店市第{unit + 1}单位",
                f"{birth.year + 60}-{rng.randint(1, 12):02d}-01",
                f"{rng.randint(2800, 7600)}.{rng.randint(0, 99):02d}",
                f"139{rng.randrange(10**8):08d}" if number % 3 else "",
                "",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file).writerows([HEADER, *rows])
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("名册")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def fresh_app(folder: Path):
    from portal import create_app
    from portal.extensions import db
    from portal.services.schema import upgrade_to_latest

    os.environ["PORTAL_INSTANCE_PATH"] = str(folder / "instance")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'portal.db'}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade_to_latest(db.engine)
    return app


def timed_import(folder: Path, *files: Path) -> list[tuple[float, int, int]]:
    """Seconds, exit code and pensioner count after each import, in one fresh database."""
    from portal.extensions import db
    from portal.models import Pensioner

    app = fresh_app(folder)
    runner = app.test_cli_runner()
    results = []
    for path in files:
        started = time.perf_counter()
        outcome = runner.invoke(args=["import-registry", str(path)])
        elapsed = time.perf_counter() - started
        with app.app_context():
            pensioners = db.session.scalar(select(func.count()).select_from(Pensioner))
        results.append((elapsed, outcome.exit_code, pensioners))
        if outcome.exit_code not in (0, 1):
            raise SystemExit(outcome.output)
    with app.app_context():
        db.engine.dispose()
    return results


def database_digest(path: Path) -> str:
    import hashlib
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    return hashlib.sha256(dump.encode()).hexdigest()


def photos_benchmark(folder: Path, rows: list[list[str]]) -> None:
    """Every usable photo of ../shared/faces/people, on two worker processes against one loop."""
    from portal.services.faces import FaceLimits, encode_reference_photo

    people = ROOT.parent / "shared" / "faces" / "people"
    if not people.is_dir():
        print(f"(photos skipped: {people} is missing)")
        return
    names = sorted(
        str(path.relative_to(people)) for path in people.glob("*/*") if path.name != "obama_small.jpg"
    )
    folder.mkdir()
    photo_rows = [[*row[:7], name] for row, name in zip(rows, names, strict=False)]
    registry = write_csv(folder / "photos.csv", photo_rows)
    app = fresh_app(folder)
    limits = FaceLimits.from_config(app.config)
    started = time.perf_counter()
    outcome = app.test_cli_runner().invoke(args=["import-registry", str(registry), "--photos", str(people)])
    parallel = time.perf_counter() - started
    report(f"{len(names)} reference photos, 2 worker processes", parallel, f"exit {outcome.exit_code}")
    started = time.perf_counter()
    for name in names:
        encode_reference_photo((people / name).read_bytes(), limits)
    report("  the same encodings in one process", time.perf_counter() - started, "no database")


def report(label: str, seconds: float, detail: str) -> None:
    print(f"{label:<48} {seconds:6.2f} s  ({detail})")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        rows = registry_rows(ROWS)
        good = write_csv(folder / "名册.csv", rows)
        bad_rows = [list(row) for row in rows]
        bad_line = 613
        original = bad_rows[bad_line - 2][0]
        bad_rows[bad_line - 2][0] = original[:17] + ("0" if original[17] != "0" else "1")
        bad = write_csv(folder / "名册-错误.csv", bad_rows)
        xlsx = write_xlsx(folder / "名册.xlsx", rows)

        (first, first_code, created), (again, again_code, _) = timed_import(folder / "csv", good, good)
        report(
            f"CSV, {ROWS} rows, Chinese headers, new database",
            first,
            f"exit {first_code}, {created} pensioners",
        )
        report("The same file again (every row unchanged)", again, f"exit {again_code}")

        ((xlsx_time, xlsx_code, xlsx_created),) = timed_import(folder / "xlsx", xlsx)
        report(f"XLSX, {ROWS} rows, new database", xlsx_time, f"exit {xlsx_code}, {xlsx_created} pensioners")

        # The refused file, into a database that already holds the good import: nothing may change.
        (folder / "refused").mkdir()
        timed_import(folder / "refused", good)
        before = database_digest(folder / "refused" / "portal.db")
        from portal.extensions import db

        app = fresh_app(folder / "refused")
        started = time.perf_counter()
        outcome = app.test_cli_runner().invoke(args=["import-registry", str(bad)])
        refused = time.perf_counter() - started
        with app.app_context():
            db.engine.dispose()
        unchanged = database_digest(folder / "refused" / "portal.db") == before
        reported = [line for line in outcome.stderr.splitlines() if line.startswith(f"第 {bad_line} 行")]
        report(
            f"CSV with one bad check digit (line {bad_line})",
            refused,
            f"exit {outcome.exit_code}, database unchanged: {unchanged}",
        )
        print(f"  reported: {reported[0] if reported else outcome.stderr.strip()}")

        # What an operator sees: the real command in a new process, start-up included.
        environment = dict(os.environ, PORTAL_INSTANCE_PATH=str(folder / "process" / "instance"))
        environment["PORTAL_DATABASE_URL"] = f"sqlite:///{folder / 'process' / 'portal.db'}"
        flask = [sys.executable, "-m", "flask", "--app", "portal"]
        subprocess.run([*flask, "init-db"], env=environment, cwd=ROOT, check=True, capture_output=True)
        started = time.perf_counter()
        process = subprocess.run(
            [*flask, "import-registry", str(good)], env=environment, cwd=ROOT, capture_output=True, text=True
        )
        whole = time.perf_counter() - started
        report(
            "`flask import-registry` in a new process", whole, f"exit {process.returncode}, start-up included"
        )
        print(
            f"  {process.stdout.strip().splitlines()[0] if process.stdout.strip() else process.stderr.strip()}"
        )

        photos_benchmark(folder / "photos", rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
