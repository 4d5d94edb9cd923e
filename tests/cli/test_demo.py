from __future__ import annotations

import pyotp
from sqlalchemy import func, select

from portal.models import Pensioner, ReferenceFace, StaffUser


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_seed_demo_prints_the_sign_ins(cli, session):
    result = cli.invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    assert (
        "演示数据已载入：6 个单位，50 名人员（其中 0 名有比对照片），3 名工作人员和 1 个公众账户。"
        in result.stdout
    )
    assert "公众账户：手机号码 13800000000，密码 demo-pass-2026" in result.stdout
    assert "  本人认证：王建国，身份证号码 " in result.stdout
    assert "  为他人认证：李秀英，身份证号码 " in result.stdout
    assert "工作人员登录地址 http://127.0.0.1:5000/staff/sign-in" in result.stdout
    admin = session.scalar(select(StaffUser).where(StaffUser.username == "admin"))
    assert (
        f"  admin（管理员）：密码 admin-demo-2026，身份验证器密钥 {admin.totp_secret}，当前验证码 "
        in result.stdout
    )
    assert count(session, Pensioner) == 50


def test_seed_demo_if_empty_runs_once(cli, session):
    first = cli.invoke(args=["seed-demo", "--if-empty"])
    second = cli.invoke(args=["seed-demo", "--if-empty"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert second.stdout.startswith("名册中已有人员，未添加演示数据。\n演示登录信息\n")
    assert "手机号码 13800000000，密码 demo-pass-2026" in second.stdout
    assert count(session, Pensioner) == 50
    assert count(session, StaffUser) == 3


def test_seed_demo_never_adds_to_a_registry_with_pensioners(cli, session):
    cli.invoke(args=["seed-demo"])

    again = cli.invoke(args=["seed-demo"])

    assert again.exit_code == 1
    assert "数据库中已有人员或演示账户：演示数据只会添加到空数据库。" in again.stderr
    assert count(session, Pensioner) == 50


def test_seed_demo_skips_a_missing_photo_folder(cli, session, tmp_path):
    result = cli.invoke(args=["seed-demo", "--photos", str(tmp_path / "no-such-folder")])

    assert result.exit_code == 0, result.output
    assert count(session, ReferenceFace) == 0


def test_seed_demo_attaches_the_shared_photos(cli, session, faces):
    result = cli.invoke(args=["seed-demo", "--if-empty", "--photos", str(faces / "people")])

    assert result.exit_code == 0, result.output
    assert "（其中 6 名有比对照片）" in result.stdout
    assert count(session, ReferenceFace) == 6


def test_demo_sign_ins_prints_current_codes(cli, session):
    cli.invoke(args=["seed-demo"])

    result = cli.invoke(args=["demo-sign-ins"])

    assert result.exit_code == 0, result.output
    staff = session.scalar(select(StaffUser).where(StaffUser.username == "staff"))
    line = next(line for line in result.stdout.splitlines() if line.startswith("  staff（"))
    assert line.startswith(
        f"  staff（社保处工作人员）：密码 staff-demo-2026，身份验证器密钥 {staff.totp_secret}"
    )
    assert line.split("当前验证码 ")[1].isdigit()
    assert pyotp.TOTP(staff.totp_secret).verify(line[-6:], valid_window=1)


def test_demo_sign_ins_without_demo_data_says_so(cli):
    result = cli.invoke(args=["demo-sign-ins"])
    assert result.exit_code == 0
    assert "此数据库中没有演示账户：请先运行 seed-demo。" in result.stdout
