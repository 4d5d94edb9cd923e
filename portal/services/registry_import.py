"""Registry import (DESIGN.md §5): pensioners from a CSV or XLSX file, reference photos from a folder or ZIP.

Every row is checked and every photo encoded before anything is written: one bad row and nothing is.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.models import Certification, Pensioner, PensionerStatus, ReferenceFace, Unit
from portal.models.base import utcnow
from portal.services.faces import FaceLimits, encode_reference_photo, encoding_to_bytes
from portal.services.image_store import ImageStore
from portal.services.messages import N_
from portal.services.validation import (
    InvalidInput,
    birth_date,
    normalise_id_number,
    normalise_phone,
    parse_yuan,
)

PHOTO_WORKERS = 2
# A registry ZIP holds one photo per pensioner; far more entries than that is a malformed or hostile file.
MAX_ZIP_MEMBERS = 200_000
# SQLite accepts 32,766 bound parameters per statement; stay well below for every database.
LOOKUP_CHUNK = 900

# (phase, done, total): "rows" while checking, "photos" while encoding, "write" while saving.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Column:
    key: str
    chinese: str
    required: bool


COLUMNS = (
    Column("id_number", "身份证号码", True),
    Column("name", "姓名", True),
    Column("unit_code", "单位编码", True),
    Column("unit_name", "单位名称", True),
    Column("benefit_start", "待遇确认日期", True),
    Column("monthly_amount", "月待遇金额", True),
    Column("phone", "联系电话", False),
    Column("photo", "照片", False),
)
HEADER_ALIASES = {column.key: column for column in COLUMNS} | {column.chinese: column for column in COLUMNS}
# "月待遇金额（元）" and "monthly_amount (yuan)" name the unit the amount is in; both are welcome.
UNIT_SUFFIX = re.compile(r"\s*[（(]\s*(元|yuan)\s*[)）]\s*$", re.IGNORECASE)
DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
)
# Excel and LibreOffice write a time after dates they consider date-times.
MIDNIGHT = re.compile(r"\s+0{1,2}:00(:00)?$")
MAX_LENGTHS = {"name": 100, "unit_code": 32, "unit_name": 200}


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be imported: line 0 is the file as a whole, line 1 its header row."""

    line: int
    column: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, translate: Callable[[str], str] = lambda message: message) -> str:
        translated = translate(self.message)
        return translated % dict(self.params) if self.params else translated


class RegistryFileError(Exception):
    """The file (or photo source) cannot be read at all."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.problem = Problem(0, "", message, params)


class PhotoProblem(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass
class RegistryRow:
    line: int
    id_number: str
    name: str
    unit_code: str
    unit_name: str
    benefit_start: date
    monthly_amount_fen: int
    phone: str | None = None
    photo: str | None = None


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]


@dataclass
class ImportPlan:
    rows: list[RegistryRow]
    problems: list[Problem]
    unit_names: dict[str, str]
    existing: dict[str, Pensioner]
    certified_ids: set[int]
    encodings: dict[int, bytes]  # by line
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    units_created: int = 0
    units_renamed: int = 0


@dataclass
class ImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int
    units_created: int
    units_renamed: int
    photos: int
    problems: list[Problem]
    dry_run: bool
    written: bool

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading the file -------------------------------------------------------------------------------


def read_table(path: Path) -> Table:
    """Header and rows of a CSV (UTF-8 with or without BOM, or GB18030) or an XLSX file's first sheet."""
    path = Path(path)
    if not path.is_file():
        raise RegistryFileError(N_("There is no file called %(name)s"), name=str(path))
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes())
    if suffix == ".xls":
        raise RegistryFileError(N_("Old .xls workbooks cannot be read: save the file as .xlsx or CSV"))
    raise RegistryFileError(N_("The registry must be a .csv or .xlsx file"))


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise RegistryFileError(N_("The file is damaged: it cannot be read as text")) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Chinese Excel saves "CSV (逗号分隔)" in GBK, which GB18030 contains.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise RegistryFileError(
            N_("The file is not UTF-8 or GB18030 text: save it again as “CSV UTF-8”")
        ) from None


def _read_csv(data: bytes) -> Table:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = next((candidate for candidate in (",", "\t", ";") if candidate in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[Any]] = []
    try:
        records.extend(reader)
    except csv.Error as error:
        raise RegistryFileError(
            N_("The CSV file is malformed at line %(line)d: %(detail)s"),
            line=reader.line_num,
            detail=str(error),
        ) from None
    if not records:
        raise RegistryFileError(N_("The file is empty"))
    return Table(
        headers=[str(cell) for cell in records[0]],
        rows=[(number, record) for number, record in enumerate(records[1:], start=2)],
    )


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        # openpyxl raises BadZipFile, KeyError, InvalidFileException, XML errors... for a damaged file.
        raise RegistryFileError(N_("The file is not a readable XLSX workbook")) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise RegistryFileError(N_("The file is empty"))
        return Table(
            headers=["" if cell is None else str(cell) for cell in header],
            rows=[(number, list(row)) for number, row in enumerate(rows, start=2)],
        )
    except RegistryFileError:
        raise
    except Exception:
        raise RegistryFileError(N_("The file is not a readable XLSX workbook")) from None
    finally:
        workbook.close()


# --- checking values ------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def id_number_from_cell(value: Any, today: date) -> str:
    """An ID number from a CSV or spreadsheet cell; Excel keeps 18 digits as a number only by losing some."""
    if isinstance(value, float):
        raise InvalidInput(
            N_("The ID card number is stored as a number and has lost digits: format the column as text")
        )
    return normalise_id_number(cell_text(value), today=today)


def parse_date(value: Any) -> date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日, or a real spreadsheet date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = MIDNIGHT.sub("", cell_text(value))
    if not text:
        raise InvalidInput(N_("Enter the benefit start date"))
    for pattern in DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise InvalidInput(N_("This date does not exist: check the month and the day")) from None
    raise InvalidInput(N_("Write the date as YYYY-MM-DD, like 2020-03-31"))


@dataclass
class Header:
    positions: dict[str, int]  # column index by key
    spelled: dict[str, str]  # the header as the file spells it (or would), by key
    problems: list[Problem]
    width: int

    @property
    def complete(self) -> bool:
        return all(column.key in self.positions for column in COLUMNS if column.required)


def read_header(headers: list[str]) -> Header:
    positions: dict[str, int] = {}
    spelled: dict[str, str] = {}
    problems: list[Problem] = []
    while headers and not str(headers[-1]).strip():
        headers = headers[:-1]
    chinese = False
    for index, raw in enumerate(headers):
        header = str(raw).strip().lstrip("\ufeff").strip()
        if not header:
            problems.append(
                Problem(
                    1, "", N_("Column %(number)d has no header: name it or delete it"), {"number": index + 1}
                )
            )
            continue
        bare = UNIT_SUFFIX.sub("", header)
        column = HEADER_ALIASES.get(bare) or HEADER_ALIASES.get(bare.lower())
        if column is None:
            problems.append(Problem(1, header, N_("This column is not part of the registry format")))
            continue
        if column.key in positions:
            problems.append(Problem(1, header, N_("This column appears twice")))
            continue
        chinese = chinese or bare == column.chinese
        positions[column.key] = index
        spelled[column.key] = header
    for column in COLUMNS:
        if column.key not in positions:
            spelled[column.key] = column.chinese if chinese else column.key
            if column.required:
                problems.append(Problem(1, spelled[column.key], N_("This column is missing")))
    return Header(positions, spelled, problems, width=len(headers))


def _check_row(
    line: int, cells: list[Any], header: Header, *, today: date, photos_given: bool
) -> tuple[dict[str, Any], list[Problem]]:
    """The values of one row and its own problems; problems between rows are found by check_rows."""
    values: dict[str, Any] = {"line": line}
    problems: list[Problem] = []

    def problem(key: str, message: str, **params: Any) -> None:
        problems.append(Problem(line, header.spelled[key], message, params))

    def raw(key: str) -> Any:
        index = header.positions.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    if any(cell_text(cell) for cell in cells[header.width :]):
        problems.append(Problem(line, "", N_("This row has values beyond the last column")))

    try:
        values["id_number"] = id_number_from_cell(raw("id_number"), today)
    except InvalidInput as error:
        problem("id_number", error.message)

    for key, missing in (
        ("name", N_("Enter the name")),
        ("unit_code", N_("Enter the unit code")),
        ("unit_name", N_("Enter the unit name")),
    ):
        text = cell_text(raw(key))
        if not text:
            problem(key, missing)
        elif len(text) > MAX_LENGTHS[key]:
            problem(key, N_("This value can be at most %(limit)d characters"), limit=MAX_LENGTHS[key])
        else:
            values[key] = text

    try:
        start = parse_date(raw("benefit_start"))
    except InvalidInput as error:
        problem("benefit_start", error.message)
    else:
        born = birth_date(values["id_number"]) if "id_number" in values else None
        if start > today:
            problem("benefit_start", N_("The benefit start date cannot be in the future"))
        elif born is not None and start <= born:
            problem(
                "benefit_start",
                N_("The benefit start date is before the date of birth in the ID card number"),
            )
        else:
            values["benefit_start"] = start

    amount = raw("monthly_amount")
    try:
        values["monthly_amount_fen"] = parse_yuan(amount if amount is not None else "")
    except InvalidInput as error:
        problem("monthly_amount", error.message)

    phone = cell_text(raw("phone"))
    if phone:
        try:
            values["phone"] = normalise_phone(phone)
        except InvalidInput as error:
            problem("phone", error.message)

    photo = cell_text(raw("photo"))
    if photo:
        values["photo"] = photo
        if not photos_given:
            problem("photo", N_("A photo is named but no photo folder or ZIP was given (--photos)"))
    return values, problems


def check_rows(
    table: Table,
    *,
    today: date,
    photos_given: bool,
    progress: Progress | None = None,
) -> tuple[list[RegistryRow], list[Problem]]:
    """Parse and check every row: the good rows, and every problem of every row."""
    header = read_header(table.headers)
    problems = list(header.problems)
    if not header.complete:
        return [], problems
    rows: list[RegistryRow] = []
    line_of_id: dict[str, int] = {}
    line_of_photo: dict[str, int] = {}
    unit_names: dict[str, tuple[str, int]] = {}
    total = len(table.rows)
    for done, (line, cells) in enumerate(table.rows, start=1):
        if progress and (done % 200 == 0 or done == total):
            progress("rows", done, total)
        if all(cell_text(cell) == "" for cell in cells):
            continue
        values, row_problems = _check_row(line, cells, header, today=today, photos_given=photos_given)

        def problem(
            key: str, message: str, line: int = line, row_problems=row_problems, **params: Any
        ) -> None:
            row_problems.append(Problem(line, header.spelled[key], message, params))

        if "id_number" in values:
            earlier = line_of_id.setdefault(values["id_number"], line)
            if earlier != line:
                problem(
                    "id_number", N_("The same ID card number is already on line %(other)d"), other=earlier
                )
        if "unit_code" in values and "unit_name" in values:
            name, earlier = unit_names.setdefault(values["unit_code"], (values["unit_name"], line))
            if name != values["unit_name"]:
                problem(
                    "unit_name",
                    N_("Unit %(code)s is called “%(name)s” on line %(other)d: use one name for a unit"),
                    code=values["unit_code"],
                    name=name,
                    other=earlier,
                )
        if "photo" in values:
            earlier = line_of_photo.setdefault(values["photo"], line)
            if earlier != line:
                problem("photo", N_("The same photo is already named on line %(other)d"), other=earlier)
        if row_problems:
            problems.extend(sorted(row_problems, key=_column_order))
        else:
            rows.append(RegistryRow(**values))
    if not rows and not problems:
        problems.append(Problem(0, "", N_("The file has no pensioner rows")))
    return rows, problems


def _column_order(problem: Problem) -> int:
    order = {label: index for index, column in enumerate(COLUMNS) for label in (column.key, column.chinese)}
    return order.get(UNIT_SUFFIX.sub("", problem.column).lower(), -1)


# --- photos ------------------------------------------------------------------------------------------


class PhotoSource(Protocol):
    label: str

    def read(self, name: str) -> bytes: ...


def _relative_name(name: str) -> str:
    """A photo name as a relative POSIX path; names that could point outside the source are refused."""
    cleaned = name.strip().replace("\\", "/")
    parts = PurePosixPath(cleaned).parts
    if not parts or cleaned.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", cleaned):
        raise PhotoProblem(N_("The photo must be named by a file name inside the photo folder or ZIP"))
    return "/".join(part for part in parts if part != ".")


class FolderPhotos:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root).resolve()
        self.label = str(root)
        self.max_bytes = max_bytes

    def read(self, name: str) -> bytes:
        path = (self.root / _relative_name(name)).resolve()
        # A symbolic link may point anywhere: only files really inside the folder are read.
        if not path.is_relative_to(self.root) or not path.is_file():
            raise PhotoProblem(
                N_("There is no photo called %(name)s in %(source)s"), name=name, source=self.label
            )
        if path.stat().st_size > self.max_bytes:
            raise _too_large(self.max_bytes)
        with path.open("rb") as file:
            data = file.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise _too_large(self.max_bytes)
        return data


class ZipPhotos:
    """Photos read straight from the archive (never extracted), each at most max_bytes uncompressed."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.label = Path(path).name
        self.max_bytes = max_bytes
        try:
            self.archive = zipfile.ZipFile(path)
            members = self.archive.infolist()
        except (zipfile.BadZipFile, OSError):
            raise RegistryFileError(N_("The photo ZIP %(name)s cannot be opened"), name=self.label) from None
        if len(members) > MAX_ZIP_MEMBERS:
            self.archive.close()
            raise RegistryFileError(N_("The photo ZIP %(name)s has too many files"), name=self.label)
        self.by_path: dict[str, zipfile.ZipInfo] = {}
        self.by_file_name: dict[str, list[zipfile.ZipInfo]] = defaultdict(list)
        for member in members:
            if member.is_dir():
                continue
            try:
                relative = _relative_name(member.filename)
            except PhotoProblem:
                continue
            self.by_path[relative] = member
            self.by_file_name[PurePosixPath(relative).name].append(member)

    def close(self) -> None:
        self.archive.close()

    def _member(self, name: str) -> zipfile.ZipInfo | None:
        relative = _relative_name(name)
        if relative in self.by_path:
            return self.by_path[relative]
        # A ZIP made by zipping a folder puts every photo under that folder's name.
        candidates = self.by_file_name.get(relative, []) if "/" not in relative else []
        return candidates[0] if len(candidates) == 1 else None

    def read(self, name: str) -> bytes:
        member = self._member(name)
        if member is None:
            raise PhotoProblem(
                N_("There is no photo called %(name)s in %(source)s"), name=name, source=self.label
            )
        if member.file_size > self.max_bytes:
            raise _too_large(self.max_bytes)
        if member.flag_bits & 0x1:
            raise PhotoProblem(N_("The photo is encrypted in the ZIP: make the ZIP without a password"))
        try:
            with self.archive.open(member) as file:
                # The size in the ZIP header may lie (a zip bomb): never read more than the limit.
                data = file.read(self.max_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError):
            raise PhotoProblem(N_("The photo is damaged inside the ZIP")) from None
        if len(data) > self.max_bytes:
            raise _too_large(self.max_bytes)
        return data


def _too_large(max_bytes: int) -> PhotoProblem:
    return PhotoProblem(N_("The photo is larger than %(megabytes)s MB"), megabytes=f"{max_bytes / 1048576:g}")


@contextmanager
def open_photos(path: Path | None, max_bytes: int) -> Iterator[PhotoSource | None]:
    if path is None:
        yield None
        return
    path = Path(path)
    if path.is_dir():
        yield FolderPhotos(path, max_bytes)
    elif path.is_file() and zipfile.is_zipfile(path):
        source = ZipPhotos(path, max_bytes)
        try:
            yield source
        finally:
            source.close()
    else:
        raise RegistryFileError(
            N_("--photos must be a folder or a ZIP file: %(name)s is neither"), name=str(path)
        )


def _encode(data: bytes, limits: FaceLimits) -> tuple[bytes | None, str | None]:
    """Worker task: the encoding, or the English reason it was refused (exceptions do not cross processes)."""
    try:
        return encoding_to_bytes(encode_reference_photo(data, limits)), None
    except InvalidInput as error:
        return None, error.message


def encode_photos(
    rows: Sequence[RegistryRow],
    source: PhotoSource,
    limits: FaceLimits,
    spelled_photo: str,
    progress: Progress | None = None,
) -> tuple[dict[int, bytes], list[Problem]]:
    """Encodings by line for every row with a photo, computed on PHOTO_WORKERS processes."""
    jobs = [row for row in rows if row.photo]
    encodings: dict[int, bytes] = {}
    problems: list[Problem] = []
    if not jobs:
        return encodings, problems

    def photo_bytes(row: RegistryRow) -> bytes | None:
        try:
            return source.read(row.photo or "")
        except PhotoProblem as error:
            problems.append(Problem(row.line, spelled_photo, error.message, error.params))
            return None

    def record(row: RegistryRow, outcome: tuple[bytes | None, str | None]) -> None:
        encoding, message = outcome
        if encoding is not None:
            encodings[row.line] = encoding
        else:
            problems.append(Problem(row.line, spelled_photo, message or ""))

    done = 0
    if len(jobs) == 1:
        data = photo_bytes(jobs[0])
        if data is not None:
            record(jobs[0], _encode(data, limits))
        if progress:
            progress("photos", 1, 1)
        return encodings, problems

    # Photos are read as workers free up, so memory holds only a few photos however many there are.
    with ProcessPoolExecutor(max_workers=PHOTO_WORKERS) as pool:
        pending: dict[Future[tuple[bytes | None, str | None]], RegistryRow] = {}
        queue = iter(jobs)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < PHOTO_WORKERS * 2:
                row = next(queue, None)
                if row is None:
                    exhausted = True
                    break
                data = photo_bytes(row)
                if data is None:
                    done += 1
                    continue
                pending[pool.submit(_encode, data, limits)] = row
            if not pending:
                continue
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                record(pending.pop(future), future.result())
                done += 1
            if progress:
                progress("photos", done, len(jobs))
    problems.sort(key=lambda problem: problem.line)
    return encodings, problems


# --- planning and writing ----------------------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def plan_import(
    session: Session,
    rows: list[RegistryRow],
    *,
    source: PhotoSource | None = None,
    limits: FaceLimits | None = None,
    spelled_photo: str = "photo",
    progress: Progress | None = None,
) -> ImportPlan:
    """What writing these (already checked) rows would do; photos are encoded here, nothing is written."""
    existing: dict[str, Pensioner] = {}
    ids = [row.id_number for row in rows]
    for chunk in _chunks(ids):
        for pensioner in session.scalars(
            select(Pensioner).options(joinedload(Pensioner.unit)).where(Pensioner.id_number.in_(chunk))
        ):
            existing[pensioner.id_number] = pensioner
    certified_ids: set[int] = set()
    known_ids = [pensioner.id for pensioner in existing.values()]
    for chunk in _chunks(known_ids):
        certified_ids.update(
            session.scalars(
                select(Certification.pensioner_id).where(Certification.pensioner_id.in_(chunk)).distinct()
            )
        )
    unit_names = {row.unit_code: row.unit_name for row in rows}
    units = {}
    for chunk in _chunks(list(unit_names)):
        units.update({unit.code: unit for unit in session.scalars(select(Unit).where(Unit.code.in_(chunk)))})

    encodings: dict[int, bytes] = {}
    problems: list[Problem] = []
    if source is not None and limits is not None:
        encodings, problems = encode_photos(rows, source, limits, spelled_photo, progress)

    plan = ImportPlan(
        rows=rows,
        problems=problems,
        unit_names=unit_names,
        existing=existing,
        certified_ids=certified_ids,
        encodings=encodings,
        units_created=sum(1 for code in unit_names if code not in units),
        units_renamed=sum(
            1 for code, name in unit_names.items() if code in units and units[code].name != name
        ),
    )
    for row in rows:
        pensioner = existing.get(row.id_number)
        if pensioner is None:
            plan.created += 1
        elif row.photo or _differs(pensioner, row):
            plan.updated += 1
        else:
            plan.unchanged += 1
    return plan


def _differs(pensioner: Pensioner, row: RegistryRow) -> bool:
    return (
        pensioner.name != row.name
        or pensioner.unit.code != row.unit_code
        or pensioner.benefit_start != row.benefit_start
        or pensioner.monthly_amount_fen != row.monthly_amount_fen
        or (row.phone is not None and pensioner.phone != row.phone)
    )


def write_plan(
    session: Session,
    plan: ImportPlan,
    *,
    source: PhotoSource | None,
    store: ImageStore | None,
    enrolled_by: str,
    progress: Progress | None = None,
    then: Callable[[dict[str, Pensioner]], None] | None = None,
) -> None:
    """Upsert every row in one transaction; `then` may add more to it before the commit.

    Images go into the store first; when the database write fails they are deleted again, and images
    replaced by new ones are deleted only once the new ones are committed.
    """
    stored: list[str] = []
    replaced: list[str] = []
    try:
        units = {}
        for chunk in _chunks(list(plan.unit_names)):
            units.update(
                {unit.code: unit for unit in session.scalars(select(Unit).where(Unit.code.in_(chunk)))}
            )
        for code, name in plan.unit_names.items():
            if code not in units:
                units[code] = Unit(code=code, name=name)
                session.add(units[code])
            elif units[code].name != name:
                units[code].name = name
        by_id: dict[str, Pensioner] = {}
        total = len(plan.rows)
        for done, row in enumerate(plan.rows, start=1):
            pensioner = plan.existing.get(row.id_number)
            if pensioner is None:
                pensioner = Pensioner(
                    id_number=row.id_number,
                    name=row.name,
                    unit=units[row.unit_code],
                    phone=row.phone,
                    benefit_start=row.benefit_start,
                    monthly_amount_fen=row.monthly_amount_fen,
                    status=PensionerStatus.ACTIVE,
                    cycle_start=row.benefit_start,
                )
                session.add(pensioner)
            else:
                _update(pensioner, row, units[row.unit_code], certified=pensioner.id in plan.certified_ids)
            if row.photo and source is not None and store is not None:
                key = store.put(source.read(row.photo))
                stored.append(key)
                face = pensioner.reference_face
                if face is None:
                    pensioner.reference_face = ReferenceFace(
                        image_key=key,
                        encoding=plan.encodings[row.line],
                        source="import",
                        enrolled_by=enrolled_by,
                    )
                else:
                    replaced.append(face.image_key)
                    face.image_key = key
                    face.encoding = plan.encodings[row.line]
                    face.source = "import"
                    face.enrolled_by = enrolled_by
                    face.enrolled_at = utcnow()
            by_id[row.id_number] = pensioner
            if progress and (done % 200 == 0 or done == total):
                progress("write", done, total)
        session.flush()
        if then is not None:
            then(by_id)
        session.commit()
    except BaseException:
        session.rollback()
        if store is not None:
            for key in stored:
                store.delete(key)
        raise
    if store is not None:
        for key in replaced:
            store.delete(key)


def _update(pensioner: Pensioner, row: RegistryRow, unit: Unit, *, certified: bool) -> None:
    # A pensioner never certified has the benefit start as cycle start (DESIGN.md §1), so a corrected
    # benefit start moves it; once certified, or suspended or terminated, the cycle is the ledger's business.
    if (
        not certified
        and pensioner.status is PensionerStatus.ACTIVE
        and pensioner.cycle_start == pensioner.benefit_start
    ):
        pensioner.cycle_start = row.benefit_start
    pensioner.name = row.name
    pensioner.unit = unit
    pensioner.benefit_start = row.benefit_start
    pensioner.monthly_amount_fen = row.monthly_amount_fen
    if row.phone is not None:
        pensioner.phone = row.phone


def import_registry(
    session: Session,
    path: Path,
    *,
    today: date,
    photos: Path | None = None,
    limits: FaceLimits,
    store: ImageStore | None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file (and its photos), then write all of it or nothing."""
    path = Path(path)
    try:
        table = read_table(path)
        with open_photos(photos, limits.max_bytes) as source:
            rows, problems = check_rows(
                table, today=today, photos_given=source is not None, progress=progress
            )
            if problems:
                # The photos of good rows are still checked, so one run reports every problem.
                _, photo_problems = (
                    encode_photos(rows, source, limits, _photo_header(table), progress)
                    if source is not None
                    else ({}, [])
                )
                return _failed(
                    len(rows), sorted([*problems, *photo_problems], key=lambda problem: problem.line), dry_run
                )
            plan = plan_import(
                session,
                rows,
                source=source,
                limits=limits,
                spelled_photo=_photo_header(table),
                progress=progress,
            )
            if plan.problems:
                return _failed(len(rows), plan.problems, dry_run)
            if not dry_run:
                write_plan(
                    session,
                    plan,
                    source=source,
                    store=store,
                    enrolled_by=f"import-registry:{path.name}",
                    progress=progress,
                )
    except RegistryFileError as error:
        session.rollback()
        return _failed(0, [error.problem], dry_run)
    if dry_run:
        session.rollback()
    return ImportResult(
        rows=len(plan.rows),
        created=plan.created,
        updated=plan.updated,
        unchanged=plan.unchanged,
        units_created=plan.units_created,
        units_renamed=plan.units_renamed,
        photos=len(plan.encodings),
        problems=[],
        dry_run=dry_run,
        written=not dry_run,
    )


def _photo_header(table: Table) -> str:
    return read_header(table.headers).spelled["photo"]


def _failed(rows: int, problems: list[Problem], dry_run: bool) -> ImportResult:
    return ImportResult(
        rows=rows,
        created=0,
        updated=0,
        unchanged=0,
        units_created=0,
        units_renamed=0,
        photos=0,
        problems=problems,
        dry_run=dry_run,
        written=False,
    )
