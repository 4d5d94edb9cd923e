"""Registry files for tests: rows of synthetic pensioners written as CSV or XLSX, as operators would,
and the columns of the pensioners export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

from portal.services.validation import check_character

CHINESE = ["身份证号码", "姓名", "单位编码", "单位名称", "待遇确认日期", "月待遇金额", "联系电话", "照片"]
ENGLISH = ["id_number", "name", "unit_code", "unit_name", "benefit_start", "monthly_amount", "phone", "photo"]
# What `export pensioners` writes, spelt out here so that the tests notice any change to it.
PENSIONER_COLUMNS = [
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
]


def id_number(sequence: int, birth: str = "19550307", region: str = "411702") -> str:
    first_17 = f"{region}{birth}{sequence:03d}"
    return first_17 + check_character(first_17)


def wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def person(sequence: int, **changes: str) -> list[str]:
    values = {
        "id_number": id_number(sequence),
        "name": f"张建国{sequence}",
        "unit_code": "41170101",
        "unit_name": "驻马店市教育局",
        "benefit_start": "2015-06-01",
        "monthly_amount": "4567.89",
        "phone": "13912345678",
        "photo": "",
    }
    values.update(changes)
    return list(values.values())


def write_csv(
    path: Path, rows: list[list[str]], header: list[str] = CHINESE, encoding: str = "utf-8-sig"
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = CHINESE) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
