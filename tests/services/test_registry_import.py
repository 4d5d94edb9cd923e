from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.models import Certification, CertificationMethod, Pensioner, PensionerStatus, ReferenceFace, Unit
from portal.services.faces import FaceLimits, encode_reference_photo, encoding_from_bytes, face_distance
from portal.services.image_store import ImageStore
from portal.services.registry_import import (
    ImportResult,
    check_rows,
    import_registry,
    open_photos,
    plan_import,
    read_table,
    write_plan,
)
from tests.registry_files import CHINESE, ENGLISH, id_number, person, write_csv, write_xlsx, wrong_check_digit

TODAY = date(2026, 12, 4)
LIMITS = FaceLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_face_height=120)


@pytest.fixture
def store(app) -> ImageStore:
    return ImageStore.from_config(app.config)


@pytest.fixture
def run(session, store):
    def run(path: Path, photos: Path | None = None, dry_run: bool = False, limits=LIMITS) -> ImportResult:
        return import_registry(
            session, path, today=TODAY, photos=photos, limits=limits, store=store, dry_run=dry_run
        )

    return run


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def problems(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(problem.line, problem.column, problem.text()) for problem in result.problems]


def test_chinese_csv_creates_units_and_pensioners(session, run, tmp_path):
    lower_x = id_number(7).lower()
    assert lower_x.endswith("x")
    path = write_csv(
        tmp_path / "名册.csv",
        [
            person(1),
            person(2, id_number=lower_x, benefit_start="2011/3/1", monthly_amount="3,456", phone=""),
            person(3, unit_code="41170102", unit_name="驻马店市财政局", benefit_start="2017年3月9日"),
        ],
    )

    result = run(path)

    assert result.ok, problems(result)
    assert (result.created, result.updated, result.unchanged, result.units_created) == (3, 0, 0, 2)
    second = session.scalar(select(Pensioner).where(Pensioner.id_number == lower_x.upper()))
    assert second is not None
    assert second.name == "张建国2"
    assert second.benefit_start == date(2011, 3, 1)
    assert second.cycle_start == date(2011, 3, 1)
    assert second.status is PensionerStatus.ACTIVE
    assert second.monthly_amount_fen == 345600
    assert second.phone is None
    assert second.unit.name == "驻马店市教育局"
    third = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number(3)))
    assert third.benefit_start == date(2017, 3, 9)
    assert third.unit.code == "41170102"
    assert third.phone == "13912345678"


def test_english_headers_without_bom(session, run, tmp_path):
    path = write_csv(tmp_path / "registry.csv", [person(1)], header=ENGLISH, encoding="utf-8")
    assert run(path).created == 1
    assert session.scalar(select(Pensioner.name)) == "张建国1"


def test_gb18030_csv_from_chinese_excel(session, run, tmp_path):
    path = write_csv(tmp_path / "名册.csv", [person(1, name="李秀英")], encoding="gb18030")
    assert run(path).created == 1
    assert session.scalar(select(Pensioner.name)) == "李秀英"


def test_excel_unicode_text_export_is_read(session, run, tmp_path):
    path = tmp_path / "名册.txt"
    path.write_bytes("\r\n".join("\t".join(row) for row in [CHINESE, person(1)]).encode("utf-16"))
    assert run(path).created == 1
    assert session.scalar(select(Pensioner.name)) == "张建国1"


def test_semicolon_separated_csv_is_read(session, run, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text("\n".join(";".join(row) for row in [ENGLISH, person(1)]), encoding="utf-8")
    assert run(path).created == 1


def test_headers_may_name_the_yuan_unit(session, run, tmp_path):
    header = [*CHINESE[:5], "月待遇金额（元）", *CHINESE[6:]]
    path = write_csv(tmp_path / "名册.csv", [person(1, monthly_amount="5000.5")], header=header)
    assert run(path).created == 1
    assert session.scalar(select(Pensioner.monthly_amount_fen)) == 500050


def test_xlsx_with_real_dates_and_numbers(session, run, tmp_path):
    path = write_xlsx(
        tmp_path / "registry.xlsx",
        [
            [
                id_number(1),
                "王建国",
                "41170101",
                "驻马店市教育局",
                datetime(2018, 4, 1),
                4321.5,
                13912345678,
                None,
            ],
            [id_number(2), "李秀英", 41170101, "驻马店市教育局", "2016年10月1日", 3000, None, None],
            [None] * 8,
        ],
        header=ENGLISH,
    )

    result = run(path)

    assert result.ok, problems(result)
    assert result.created == 2
    first = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number(1)))
    assert (first.benefit_start, first.monthly_amount_fen, first.phone) == (
        date(2018, 4, 1),
        432150,
        "13912345678",
    )
    assert count(session, Unit) == 1


def test_xlsx_id_number_stored_as_a_number_is_refused(session, run, tmp_path):
    path = write_xlsx(tmp_path / "registry.xlsx", [[4.11702195503071e17, *person(1)[1:]]])
    assert problems(run(path)) == [
        (
            2,
            "身份证号码",
            "The ID card number is stored as a number and has lost digits: format the column as text",
        )
    ]


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        (
            {"id_number": wrong_check_digit(id_number(5))},
            "身份证号码",
            "The ID card number is not correct: check every digit",
        ),
        ({"id_number": "41170219551307005"}, "身份证号码", "The ID card number must be 18 characters"),
        ({"name": ""}, "姓名", "Enter the name"),
        ({"unit_code": ""}, "单位编码", "Enter the unit code"),
        ({"unit_name": " "}, "单位名称", "Enter the unit name"),
        ({"benefit_start": "next spring"}, "待遇确认日期", "Write the date as YYYY-MM-DD, like 2020-03-31"),
        (
            {"benefit_start": "2021-02-30"},
            "待遇确认日期",
            "This date does not exist: check the month and the day",
        ),
        ({"benefit_start": ""}, "待遇确认日期", "Enter the benefit start date"),
        ({"benefit_start": "2027-01-01"}, "待遇确认日期", "The benefit start date cannot be in the future"),
        (
            {"benefit_start": "1950-01-01"},
            "待遇确认日期",
            "The benefit start date is before the date of birth in the ID card number",
        ),
        ({"monthly_amount": "abc"}, "月待遇金额", "The amount must be a number of yuan, like 3456.78"),
        ({"monthly_amount": "0"}, "月待遇金额", "The amount must be more than 0 yuan"),
        ({"phone": "12345"}, "联系电话", "Enter a mobile number of 11 digits, like 13812345678"),
        (
            {"photo": "wang.jpg"},
            "照片",
            "A photo is named but no photo folder or ZIP was given (--photos)",
        ),
    ],
)
def test_each_bad_value_is_reported_with_line_and_column(session, run, tmp_path, changes, column, message):
    path = write_csv(tmp_path / "名册.csv", [person(1), person(2), person(3, **changes)])

    result = run(path)

    assert problems(result) == [(4, column, message)]
    assert not result.written
    assert count(session, Pensioner) == 0


def test_every_bad_row_is_reported_and_nothing_is_written(session, run, tmp_path):
    run(write_csv(tmp_path / "first.csv", [person(1)]))
    units_before, pensioners_before = count(session, Unit), count(session, Pensioner)
    rows = [person(number) for number in range(2, 40)]
    rows[5] = person(7, id_number=wrong_check_digit(id_number(7)))
    rows[9] = person(11, benefit_start="2021-13-01", monthly_amount="")
    rows[20] = person(2, unit_code="41179999", unit_name="新单位")  # same ID as line 2
    path = write_csv(tmp_path / "名册.csv", rows)

    result = run(path)

    assert problems(result) == [
        (7, "身份证号码", "The ID card number is not correct: check every digit"),
        (11, "待遇确认日期", "This date does not exist: check the month and the day"),
        (11, "月待遇金额", "Enter the monthly amount in yuan"),
        (22, "身份证号码", "The same ID card number is already on line 2"),
    ]
    assert (count(session, Unit), count(session, Pensioner)) == (units_before, pensioners_before)


def test_one_unit_code_with_two_names_is_refused(run, tmp_path):
    path = write_csv(tmp_path / "名册.csv", [person(1), person(2, unit_name="驻马店市教委")])
    assert problems(run(path)) == [
        (3, "单位名称", "Unit 41170101 is called “驻马店市教育局” on line 2: use one name for a unit")
    ]


def test_unknown_and_missing_columns_are_reported(session, run, tmp_path):
    header = ["身份证号码", "姓名", "单位编码", "单位名称", "待遇确认日期", "备注"]
    path = write_csv(tmp_path / "名册.csv", [person(1)[:6]], header=header)

    assert problems(run(path)) == [
        (1, "备注", "This column is not part of the registry format"),
        (1, "月待遇金额", "This column is missing"),
    ]
    assert count(session, Pensioner) == 0


def test_english_file_names_missing_columns_in_english(run, tmp_path):
    path = write_csv(tmp_path / "registry.csv", [person(1)[:5]], header=ENGLISH[:5], encoding="utf-8")
    assert problems(run(path)) == [(1, "monthly_amount", "This column is missing")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The file is empty"),
        (
            "only-header.csv",
            "身份证号码,姓名,单位编码,单位名称,待遇确认日期,月待遇金额\n".encode(),
            "The file has no pensioner rows",
        ),
        (
            "binary.csv",
            b"\x89PNG\r\n\x1a\n\x00\xff\xff\xff",
            "The file is not UTF-8 or GB18030 text: save it again as “CSV UTF-8”",
        ),
        ("fake.xlsx", b"id_number,name\n", "The file is not a readable XLSX workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "Old .xls workbooks cannot be read: save the file as .xlsx or CSV"),
        ("registry.pdf", b"%PDF-1.4", "The registry must be a .csv or .xlsx file"),
    ],
)
def test_unreadable_files_get_a_clear_message(run, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert problems(run(path)) == [(0, "", message)]


def test_dry_run_reports_what_would_change_and_writes_nothing(session, run, tmp_path):
    run(write_csv(tmp_path / "first.csv", [person(1), person(2)]))
    path = write_csv(tmp_path / "second.csv", [person(1), person(2, name="张国强"), person(3)])

    result = run(path, dry_run=True)

    assert result.ok and result.dry_run and not result.written
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert count(session, Pensioner) == 2
    assert session.scalar(select(Pensioner.name).where(Pensioner.id_number == id_number(2))) == "张建国2"


def test_import_updates_existing_pensioners_by_id_number(session, run, tmp_path):
    run(write_csv(tmp_path / "first.csv", [person(1), person(2), person(3)]))
    certified = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number(2)))
    session.add(
        Certification(
            pensioner=certified,
            certified_on=date(2026, 5, 1),
            method=CertificationMethod.SELF,
            recorded_by="t",
        )
    )
    certified.cycle_start = date(2026, 5, 1)
    session.commit()
    path = write_csv(
        tmp_path / "second.csv",
        [
            person(1, name="张国强", monthly_amount="5000", benefit_start="2015-07-01"),
            person(2, benefit_start="2015-07-01", unit_code="41170102", unit_name="驻马店市财政局"),
            person(3),
        ],
    )

    result = run(path)

    assert (result.created, result.updated, result.unchanged, result.units_created) == (0, 2, 1, 1)
    first = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number(1)))
    assert (first.name, first.monthly_amount_fen) == ("张国强", 500000)
    # Never certified: the cycle still starts at the (corrected) benefit start.
    assert first.cycle_start == date(2015, 7, 1)
    session.refresh(certified)
    assert certified.unit.code == "41170102"
    assert certified.cycle_start == date(2026, 5, 1)
    assert count(session, Pensioner) == 3


def test_import_renames_a_unit(session, run, tmp_path):
    run(write_csv(tmp_path / "first.csv", [person(1)]))
    result = run(write_csv(tmp_path / "second.csv", [person(1, unit_name="驻马店市教育体育局")]))
    assert result.units_renamed == 1
    assert session.scalar(select(Unit.name)) == "驻马店市教育体育局"


def first_photos(faces: Path) -> list[str]:
    return [
        f"{folder.name}/{sorted(file.name for file in folder.iterdir())[0]}"
        for folder in sorted((faces / "people").iterdir())
    ]


def test_photos_from_a_folder_import_with_encodings(session, run, store, tmp_path, faces):
    names = first_photos(faces)
    path = write_csv(
        tmp_path / "名册.csv", [person(number, photo=name) for number, name in enumerate(names, start=1)]
    )

    result = run(path, photos=faces / "people")

    assert result.ok, problems(result)
    assert result.photos == len(names) == 6
    for number, name in enumerate(names, start=1):
        pensioner = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number(number)))
        face = pensioner.reference_face
        assert face is not None
        assert (face.source, face.enrolled_by) == ("import", "import-registry:名册.csv")
        data = (faces / "people" / name).read_bytes()
        assert store.get(face.image_key) == data
        assert face_distance(encoding_from_bytes(face.encoding), encode_reference_photo(data, LIMITS)) < 1e-6


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_photos_from_a_zip_including_awkward_formats(session, run, tmp_path, faces):
    photos = zip_of(
        tmp_path / "photos.zip",
        {
            "照片/obama2-exif-orientation-6.jpg": (
                faces / "formats/obama2-exif-orientation-6.jpg"
            ).read_bytes(),
            "照片/obama2-rgba.png": (faces / "formats/obama2-rgba.png").read_bytes(),
            "照片/biden.jpg": (faces / "people/biden/biden.jpg").read_bytes(),
        },
    )
    path = write_csv(
        tmp_path / "名册.csv",
        [
            person(1, photo="obama2-exif-orientation-6.jpg"),
            person(2, photo="照片/obama2-rgba.png"),
            person(3, photo="biden.jpg"),
        ],
    )

    result = run(path, photos=photos)

    assert result.ok, problems(result)
    assert result.photos == 3
    assert count(session, ReferenceFace) == 3


def test_bad_photos_are_reported_and_nothing_is_stored(session, run, store, tmp_path, faces):
    photos = zip_of(
        tmp_path / "photos.zip",
        {
            "good.jpg": (faces / "people/obama/obama.jpg").read_bytes(),
            "two_people.jpg": (faces / "group/two_people.jpg").read_bytes(),
            "small.jpg": (faces / "people/obama/obama_small.jpg").read_bytes(),
            "notes.jpg": "这不是照片，只是一个改了扩展名的文本文件。".encode(),
            "../escape.jpg": (faces / "people/biden/biden.jpg").read_bytes(),
        },
    )
    path = write_csv(
        tmp_path / "名册.csv",
        [
            person(1, photo="good.jpg"),
            person(2, photo="two_people.jpg"),
            person(3, photo="small.jpg"),
            person(4, photo="notes.jpg"),
            person(5, photo="missing.jpg"),
            person(6, photo="../escape.jpg"),
            person(7, photo="good.jpg"),
        ],
    )

    result = run(path, photos=photos)

    assert problems(result) == [
        (3, "照片", "More than one face is in the photo: use a photo of one person only"),
        (4, "照片", "The face in the photo is too small: use a closer photo of the face"),
        (5, "照片", "The file is not a photo: choose a JPEG or PNG picture"),
        (6, "照片", "There is no photo called missing.jpg in photos.zip"),
        (7, "照片", "The photo must be named by a file name inside the photo folder or ZIP"),
        (8, "照片", "The same photo is already named on line 2"),
    ]
    assert count(session, Pensioner) == 0
    assert not any(path.is_file() for path in store.root.rglob("*"))


def test_folder_photos_cannot_escape_the_folder(run, tmp_path, faces):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "link.jpg").symlink_to(faces / "people/obama/obama.jpg")
    path = write_csv(tmp_path / "名册.csv", [person(1, photo="link.jpg"), person(2, photo="/etc/passwd")])

    assert problems(run(path, photos=folder)) == [
        (2, "照片", f"There is no photo called link.jpg in {folder}"),
        (3, "照片", "The photo must be named by a file name inside the photo folder or ZIP"),
    ]


def test_a_zip_bomb_is_refused_without_reading_it_all(run, tmp_path):
    photos = zip_of(tmp_path / "photos.zip", {"bomb.jpg": b"\0" * (3 * 1024 * 1024)})
    assert photos.stat().st_size < 100_000
    path = write_csv(tmp_path / "名册.csv", [person(1, photo="bomb.jpg")])
    limits = FaceLimits(max_bytes=1024 * 1024, max_pixels=40_000_000, min_face_height=120)

    assert problems(run(path, photos=photos, limits=limits)) == [(2, "照片", "The photo is larger than 1 MB")]


def test_photos_that_are_neither_folder_nor_zip_are_refused(run, tmp_path):
    not_zip = tmp_path / "photos.zip"
    not_zip.write_text("no")
    path = write_csv(tmp_path / "名册.csv", [person(1)])
    assert problems(run(path, photos=not_zip)) == [
        (0, "", f"--photos must be a folder or a ZIP file: {not_zip} is neither")
    ]


def test_stored_images_are_deleted_when_the_database_write_fails(session, store, tmp_path, faces):
    path = write_csv(tmp_path / "名册.csv", [person(1, photo="obama/obama.jpg")])
    rows, row_problems = check_rows(read_table(path), today=TODAY, photos_given=True)
    assert row_problems == []

    def fail(_pensioners):
        raise RuntimeError("database went away")

    with open_photos(faces / "people", LIMITS.max_bytes) as source:
        plan = plan_import(session, rows, source=source, limits=LIMITS)
        with pytest.raises(RuntimeError):
            write_plan(session, plan, source=source, store=store, enrolled_by="test", then=fail)

    assert count(session, Pensioner) == 0
    assert not any(path.is_file() for path in store.root.rglob("*"))


def test_a_new_photo_replaces_the_old_image(session, run, store, tmp_path, faces):
    run(write_csv(tmp_path / "first.csv", [person(1, photo="obama/obama.jpg")]), photos=faces / "people")
    old_key = session.scalar(select(ReferenceFace.image_key))

    result = run(
        write_csv(tmp_path / "second.csv", [person(1, photo="obama/obama2.jpg")]), photos=faces / "people"
    )

    assert (result.updated, result.photos) == (1, 1)
    face = session.scalar(select(ReferenceFace))
    assert face.image_key != old_key
    assert not store.exists(old_key)
    assert store.get(face.image_key) == (faces / "people/obama/obama2.jpg").read_bytes()
    assert face.enrolled_by == "import-registry:second.csv"
