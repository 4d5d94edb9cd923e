"""Issue 4 in a real browser: register, sign out and sign in again using only what is on the screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import SmsMessage

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {
        "start": "开始认证",
        "sign_in_heading": "登录",
        "register": "注册",
        "phone": "手机号码",
        "get_code": "获取验证码",
        "code": "验证码",
        "next": "下一步",
        "password": "密码",
        "confirm": "确认密码",
        "consent": "我已阅读并同意服务条款及隐私保护",
        "name": "姓名",
        "id_number": "身份证号码",
        "done": "注册成功",
        "go_on": "进入资格认证",
        "home": "资格认证",
        "sign_out": "退出登录",
        "signed_out": "您已退出登录",
        "sign_in_again": "重新登录",
        "sign_in": "登录",
        "bad_phone": "请输入 11 位手机号码，例如 13812345678",
        "set_password": "请设置密码",
    },
    "en": {
        "start": "Start now",
        "sign_in_heading": "Sign in",
        "register": "Register",
        "phone": "Mobile number",
        "get_code": "Get verification code",
        "code": "Verification code",
        "next": "Next",
        "password": "Password",
        "confirm": "Confirm password",
        "consent": "I have read and agree to the terms of service and the privacy notice",
        "name": "Name",
        "id_number": "ID card number",
        "done": "Registration complete",
        "go_on": "Go to certification",
        "home": "Certification",
        "sign_out": "Sign out",
        "signed_out": "You have signed out",
        "sign_in_again": "Sign in again",
        "sign_in": "Sign in",
        "bad_phone": "Enter a mobile number of 11 digits, like 13812345678",
        "set_password": "Set a password",
    },
}
PASSWORDS = {"zh": "我的密码很长 2027", "en": "a long password 2027"}


def code_from_outbox(live_server, phone: str) -> str:
    with live_server.app.app_context():
        text = db.session.scalars(
            select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
        ).first()
        return re.search(r"\d{6}", text.body).group()


def heading(page: Page):
    return page.get_by_role("heading", level=1)


@pytest.mark.parametrize(
    ("language", "phone", "id_number"),
    [("zh", "13912340001", "11010519491231002X"), ("en", "13912340002", "110105194912310046")],
)
def test_register_sign_out_and_sign_in_again(page, live_server, axe, language, phone, id_number):
    words = WORDS[language]
    password = PASSWORDS[language]
    page.goto("/")
    if language == "en":
        page.get_by_role("link", name="English").click()
    axe(page)

    page.get_by_role("button", name=words["start"]).click()
    expect(heading(page)).to_have_text(words["sign_in_heading"])
    axe(page)

    page.get_by_role("main").get_by_role("link", name=words["register"], exact=True).click()
    expect(heading(page)).to_have_text(words["register"])
    axe(page)
    page.get_by_label(words["phone"]).fill("12345")
    page.get_by_role("button", name=words["get_code"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["bad_phone"])
    expect(page.get_by_role("alert")).to_be_focused()
    axe(page, "the phone step with an error")
    page.get_by_label(words["phone"]).fill(f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    page.get_by_role("button", name=words["get_code"]).click()

    expect(page.get_by_label(words["code"], exact=True)).to_be_visible()
    axe(page)
    page.get_by_label(words["code"], exact=True).fill(code_from_outbox(live_server, phone))
    page.get_by_role("button", name=words["next"]).click()

    expect(page.get_by_label(words["password"], exact=True)).to_be_visible()
    page.get_by_role("button", name=words["next"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["set_password"])
    axe(page, "the password step with errors")
    page.get_by_label(words["password"], exact=True).fill(password)
    page.get_by_label(words["confirm"], exact=True).fill(password)
    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["next"]).click()

    expect(page.get_by_label(words["name"], exact=True)).to_be_visible()
    axe(page)
    page.get_by_label(words["name"], exact=True).fill("王秀兰")
    page.get_by_label(words["id_number"], exact=True).fill(id_number)
    page.get_by_role("button", name=words["register"], exact=True).click()

    expect(heading(page)).to_have_text(words["done"])
    axe(page)
    page.get_by_role("button", name=words["go_on"]).click()
    expect(heading(page)).to_have_text(words["home"])
    axe(page)

    page.get_by_role("banner").get_by_role("button", name=words["sign_out"]).click()
    expect(heading(page)).to_have_text(words["signed_out"])
    axe(page)
    page.get_by_role("button", name=words["sign_in_again"]).click()
    expect(heading(page)).to_have_text(words["sign_in_heading"])
    page.get_by_label(words["phone"]).fill(phone)
    page.get_by_label(words["password"], exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name=words["sign_in"], exact=True).click()
    expect(heading(page)).to_have_text(words["home"])


def test_the_idle_warning_lets_a_person_continue(page, live_server, axe):
    page.clock.install()
    page.goto("/register")
    phone = "13912340003"
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("验证码", exact=True).fill(code_from_outbox(live_server, phone))
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("密码", exact=True).fill(PASSWORDS["zh"])
    page.get_by_label("确认密码").fill(PASSWORDS["zh"])
    page.get_by_label("我已阅读并同意服务条款及隐私保护").check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("姓名").fill("李明")
    page.get_by_label("身份证号码").fill("110105194912310054")
    page.get_by_role("button", name="注册").click()
    expect(heading(page)).to_have_text("注册成功")

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_hidden()
    page.clock.run_for("17:59")
    expect(dialog).to_be_hidden()
    page.clock.run_for("00:02")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 分钟后自动退出登录")
    axe(page, "the idle warning dialog")
    with page.expect_response("**/session/extend") as extended:
        dialog.get_by_role("button", name="继续使用").click()
    assert extended.value.status == 204
    expect(dialog).to_be_hidden()
    expect(heading(page)).to_have_text("注册成功")
