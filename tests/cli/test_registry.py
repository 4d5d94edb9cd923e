from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.models import Pensioner, ReferenceFace, Unit
from tests.registry_files import (
    ENGLISH,
    PENSIONER_COLUMNS,
    id_number,
    person,
    write_csv,
    write_xlsx,
    wrong_check_digit,
)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_import_prints_a_chinese_summary(cli, session, tmp_path):
    path = write_csv(tmp_path / "名册.csv", [person(1), person(2)])

    result = cli.invoke(args=["import-registry", str(path)])

    assert result.exit_code == 0, result.output
    assert "已导入 名册.csv 共 2 行：新增 2 人，更新 0 人，0 人不变。" in result.stdout
    assert "单位：新增 1 个，更名 0 个。" in result.stdout
    assert count(session, Pensioner) == 2


def test_bad_rows_are_listed_in_chinese_and_nothing_is_written(cli, session, tmp_path):
    bad = wrong_check_digit(id_number(3))
    path = write_csv(
        tmp_path / "名册.csv", [person(1), person(2, benefit_start="2021-02-30"), person(3, id_number=bad)]
    )

    result = cli.invoke(args=["import-registry", str(path)])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-3:] == [
        "名册.csv 未导入，数据没有任何改动。请改正以下 2 处问题后重新导入：",
        "第 3 行，待遇确认日期：该日期不存在：请核对月份和日期",
        "第 4 行，身份证号码：身份证号码不正确，请逐位核对",
    ]
    assert count(session, Pensioner) == 0
    assert count(session, Unit) == 0


def test_dry_run_says_what_would_happen_and_writes_nothing(cli, session, tmp_path):
    path = write_xlsx(tmp_path / "registry.xlsx", [person(1), person(2)], header=ENGLISH)

    result = cli.invoke(args=["import-registry", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "试运行：registry.xlsx 没有问题，未写入任何数据。" in result.stdout
    assert "正式导入将新增 2 人，更新 0 人，0 人不变。" in result.stdout
    assert count(session, Pensioner) == 0


def test_import_with_photos_reports_them(cli, session, tmp_path, faces):
    path = write_csv(
        tmp_path / "名册.csv",
        [person(1, photo="obama/obama.jpg"), person(2, photo="biden/biden.jpg"), person(3)],
    )

    result = cli.invoke(args=["import-registry", str(path), "--photos", str(faces / "people")])

    assert result.exit_code == 0, result.output
    assert "已录入比对照片（含人脸特征）：2 张。" in result.stdout
    assert count(session, ReferenceFace) == 2


def test_several_faces_are_refused_by_the_command(cli, session, tmp_path, faces):
    path = write_csv(tmp_path / "名册.csv", [person(1, photo="two_people.jpg")])

    result = cli.invoke(args=["import-registry", str(path), "--photos", str(faces / "group")])

    assert result.exit_code == 1
    assert "第 2 行，照片：照片中有不止一张人脸：请使用只有本人一人的照片" in result.stderr
    assert count(session, Pensioner) == 0


def test_missing_file_is_reported(cli, tmp_path):
    result = cli.invoke(args=["import-registry", str(tmp_path / "nowhere.csv")])
    assert result.exit_code == 1
    assert f"找不到文件 {tmp_path / 'nowhere.csv'}" in result.stderr


def test_export_pensioners_as_csv_to_stdout(cli, session, tmp_path):
    cli.invoke(args=["import-registry", str(write_csv(tmp_path / "名册.csv", [person(1)]))])

    result = cli.invoke(args=["export", "pensioners"])

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        PENSIONER_COLUMNS,
        [id_number(1), "张建国1", "41170101", "active", "2015-06-01", "2016-05-31", "", "", "", ""],
    ]


def test_export_to_files_in_both_formats(cli, session, tmp_path):
    cli.invoke(args=["import-registry", str(write_csv(tmp_path / "名册.csv", [person(1), person(2)]))])

    as_csv = cli.invoke(args=["export", "pensioners", "--out", str(tmp_path / "out.csv")])
    as_xlsx = cli.invoke(args=["export", "pensioners", "--out", str(tmp_path / "out.xlsx")])

    assert as_csv.exit_code == 0 and as_xlsx.exit_code == 0, as_csv.output + as_xlsx.output
    assert "已将 2 行写入" in as_csv.stderr
    # A byte-order mark, so Excel opens the Chinese names correctly.
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfid_number,name,unit_code,status")
    rows = list(load_workbook(tmp_path / "out.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id_number", "name", "unit_code")
    assert rows[1][4].date() == date(2015, 6, 1)
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_export_refuses_unknown_kinds_and_xlsx_without_a_file(cli):
    unknown = cli.invoke(args=["export", "pets"])
    no_file = cli.invoke(args=["export", "pensioners", "--format", "xlsx"])

    assert unknown.exit_code == 2
    assert "没有名为 pets 的导出项。可选：pensioners" in unknown.stderr
    assert no_file.exit_code == 2
    assert "导出 XLSX 需要用 --out 指定文件" in no_file.stderr


def test_export_into_a_missing_folder_is_refused(cli, tmp_path):
    result = cli.invoke(args=["export", "pensioners", "--out", str(tmp_path / "nowhere" / "out.csv")])
    assert result.exit_code == 2
    assert f"没有可写入导出文件的文件夹 {tmp_path / 'nowhere'}" in result.stderr
