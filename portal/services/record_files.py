"""Files from other departments about registered people (evidence of life, deaths): read and check them.

Every row is checked against the registry before anything is written; the caller writes nothing when
any row has a problem. Headers may be English or Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Pensioner
from portal.services.messages import N_
from portal.services.registry_import import (
    Problem,
    RegistryFileError,
    Table,
    cell_text,
    id_number_from_cell,
    parse_date,
    read_table,
)
from portal.services.validation import InvalidInput, birth_date

LOOKUP_CHUNK = 900
# Names are compared without spaces, and with the several dots used in transliterated names made one.
NAME_SPACES = re.compile(r"\s+")
NAME_DOTS = re.compile(r"[·•．.・]")


@dataclass(frozen=True)
class Column:
    key: str
    chinese: str
    max_length: int | None = None


@dataclass
class RecordRow:
    line: int
    pensioner: Pensioner
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckedFile:
    rows: list[RecordRow]
    problems: list[Problem]
    headers: dict[str, str]  # the header as the file spells it, by key


def same_name(first: str, second: str) -> bool:
    def plain(name: str) -> str:
        return NAME_DOTS.sub("·", NAME_SPACES.sub("", name))

    return plain(first) == plain(second)


def check_file(
    session: Session, path: Path, columns: Sequence[Column], date_key: str, *, today: date
) -> CheckedFile:
    """Read the file and check each row's ID number, name (against the registry) and date."""
    try:
        table = read_table(Path(path))
    except RegistryFileError as error:
        return CheckedFile([], [error.problem], {})
    positions, spelled, problems = _read_header(table, columns)
    if problems:
        return CheckedFile([], problems, spelled)

    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, cells in table.rows:
        if all(cell_text(cell) == "" for cell in cells):
            continue
        values: dict[str, Any] = {}

        def problem(key: str, message: str, line: int = line, **params: Any) -> None:
            problems.append(Problem(line, spelled[key], message, params))

        def raw(key: str, cells: list[Any] = cells) -> Any:
            index = positions[key]
            return cells[index] if index < len(cells) else None

        try:
            values["id_number"] = id_number_from_cell(raw("id_number"), today)
        except InvalidInput as error:
            problem("id_number", error.message)
        for column in columns:
            if column.key in ("id_number", date_key):
                continue
            text = cell_text(raw(column.key))
            if not text:
                problem(column.key, N_("This value is missing"))
            elif column.max_length and len(text) > column.max_length:
                problem(
                    column.key, N_("This value can be at most %(limit)d characters"), limit=column.max_length
                )
            else:
                values[column.key] = text
        day_cell = raw(date_key)
        if cell_text(day_cell) == "":
            problem(date_key, N_("Enter the date"))
        else:
            try:
                day = parse_date(day_cell)
            except InvalidInput as error:
                problem(date_key, error.message)
            else:
                born = birth_date(values["id_number"]) if "id_number" in values else None
                if day > today:
                    problem(
                        date_key, N_("The date cannot be after the processing date, %(today)s"), today=today
                    )
                elif born is not None and day < born:
                    problem(date_key, N_("The date is before the date of birth in the ID card number"))
                else:
                    values[date_key] = day
        parsed.append((line, values))

    registered = _registered(session, [values["id_number"] for _, values in parsed if "id_number" in values])
    rows: list[RecordRow] = []
    for line, values in parsed:
        pensioner = registered.get(values.get("id_number", ""))
        if "id_number" in values and pensioner is None:
            problems.append(Problem(line, spelled["id_number"], N_("No pensioner has this ID card number")))
            continue
        if pensioner is not None and "name" in values and not same_name(values["name"], pensioner.name):
            problems.append(
                Problem(
                    line,
                    spelled["name"],
                    N_(
                        "The name does not match the registry for this ID card number, which has %(registered)s"
                    ),
                    {"registered": pensioner.name},
                )
            )
            continue
        if pensioner is not None and len(values) == len(columns):
            rows.append(RecordRow(line, pensioner, values))
    problems.sort(key=lambda problem: problem.line)
    return CheckedFile(rows, problems, spelled)


def _read_header(
    table: Table, columns: Sequence[Column]
) -> tuple[dict[str, int], dict[str, str], list[Problem]]:
    aliases = {column.key: column for column in columns} | {column.chinese: column for column in columns}
    positions: dict[str, int] = {}
    spelled: dict[str, str] = {}
    problems: list[Problem] = []
    chinese = False
    for index, raw in enumerate(table.headers):
        header = str(raw).strip().lstrip("\ufeff").strip()
        if not header:
            continue
        column = aliases.get(header) or aliases.get(header.lower())
        if column is None:
            problems.append(Problem(1, header, N_("This column is not part of the format")))
        elif column.key in positions:
            problems.append(Problem(1, header, N_("This column appears twice")))
        else:
            chinese = chinese or header == column.chinese
            positions[column.key] = index
            spelled[column.key] = header
    for column in columns:
        if column.key not in positions:
            spelled[column.key] = column.chinese if chinese else column.key
            problems.append(Problem(1, spelled[column.key], N_("This column is missing")))
    return positions, spelled, problems


def _registered(session: Session, id_numbers: list[str]) -> dict[str, Pensioner]:
    found: dict[str, Pensioner] = {}
    unique = sorted(set(id_numbers))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        for pensioner in session.scalars(select(Pensioner).where(Pensioner.id_number.in_(chunk))):
            found[pensioner.id_number] = pensioner
    return found
