"""axe-core on the pages not covered by a journey test: the statements and the back office, both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.factories import create_pensioner, create_staff

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["中文", "English"])
def test_statements_have_no_accessibility_violations(page, axe, language):
    page.goto("/")
    if language == "English":
        page.get_by_role("link", name="English").click()
    for name in (
        ("无障碍说明", "隐私保护", "服务条款")
        if language == "中文"
        else ("Accessibility", "Privacy", "Terms of service")
    ):
        page.get_by_role("contentinfo").get_by_role("link", name=name, exact=True).click()
        axe(page, f"{name} ({language})")


def test_large_text_at_320_pixels_needs_no_sideways_scrolling(page, axe):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    page.get_by_role("link", name="大字").click()
    body_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_size >= 26
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    button = page.get_by_role("button", name="开始认证")
    assert button.bounding_box()["height"] >= 60
    axe(page, "start page, large text, 320 px")


@pytest.fixture
def staff_user(live_server):
    with live_server.app.app_context():
        user = create_staff(db.session, username="axe.staff")
        person = create_pensioner(db.session, name="王淑芬")
        db.session.commit()
        yield user, person
        db.session.delete(person)
        db.session.delete(person.unit)
        db.session.delete(user)
        db.session.commit()


@pytest.mark.parametrize("language", ["中文", "English"])
def test_back_office_pages_have_no_accessibility_violations(page, axe, staff_user, language):
    user, _person = staff_user
    page.goto("/staff/sign-in")
    if language == "English":
        page.get_by_role("link", name="English").click()
    labels = {
        "中文": (
            "用户名",
            "密码",
            "继续",
            "身份验证器上的动态码",
            "登录",
            "查询",
            "记录线下认证",
            "记录认证",
        ),
        "English": (
            "Username",
            "Password",
            "Continue",
            "Code from your authenticator app",
            "Sign in",
            "Search",
            "Record an offline certification",
            "Record certification",
        ),
    }[language]
    username, password, proceed, code, sign_in, search, record, submit = labels
    axe(page, "staff sign-in")
    page.get_by_label(username).fill(user.username)
    page.get_by_label(password, exact=True).fill("correct horse battery")
    page.get_by_role("button", name=proceed).click()
    axe(page, "second factor")
    page.get_by_label(code).fill(pyotp.TOTP(user.totp_secret).at(datetime.now(UTC)))
    page.get_by_role("button", name=sign_in).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "业务后台" if language == "中文" else "Back office"
    )
    axe(page, "dashboard")
    page.get_by_role("main").get_by_role("searchbox").fill("王淑")
    page.get_by_role("main").get_by_role("button", name=search).click()
    axe(page, "search results")
    page.get_by_role("link", name="王淑芬").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("王淑芬")
    axe(page, "person page")
    page.get_by_role("button", name=record).click()
    page.get_by_role("button", name=submit).click()
    expect(page.locator(".error-summary")).to_be_focused()
    axe(page, "offline certification with errors")
