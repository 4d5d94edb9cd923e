"""Issue 5 in a real browser: Chromium with the shared blink clip as its webcam certifies a pensioner."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Attempt, Certification, CertificationMethod, Pensioner, PensionerStatus, Suspension
from portal.services.clock import local_today
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import FACES
from tests.face_records import BIDEN, BLINK_CLIP, OBAMA, enrol_face
from tests.factories import create_account, create_pensioner, make_id_number

pytestmark = pytest.mark.browser

PASSWORD = "a long password 2027"
_phones = iter(range(13700000101, 13700000199))


@pytest.fixture(scope="module")
def blink_webcam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 30 blink frames as a 15 fps Y4M clip, which Chromium plays (in a loop) as its camera."""
    clip = FACES / BLINK_CLIP
    if not clip.is_dir():
        pytest.skip(f"the shared blink clip is not at {clip}")
    target = tmp_path_factory.mktemp("webcam") / "blink.y4m"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-framerate",
            "15",
            "-i",
            "f%03d.jpg",
            "-pix_fmt",
            "yuv420p",
            str(target),
        ],
        cwd=clip,
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def webcam_browser(browser, blink_webcam: Path):
    """A second Chromium from the same Playwright, whose fake camera shows the blink clip."""
    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={blink_webcam}",
        ],
    )
    yield camera
    camera.close()


@pytest.fixture
def webcam_page(webcam_browser, live_server, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "LIVENESS_CHALLENGES", "blink")
    context = webcam_browser.new_context(base_url=live_server.url, locale="zh-CN", permissions=["camera"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def seed(live_server, *, photo: str | None = OBAMA, own: bool = True, **fields) -> tuple[str, int]:
    """A pensioner (with a photo on file) and an account; returns the account's phone and the pensioner id.

    With own=True the account is the pensioner's own; otherwise it belongs to a helper.
    """
    phone = str(next(_phones))
    with live_server.app.app_context():
        fields.setdefault("cycle_start", local_today() - timedelta(days=300))
        fields.setdefault("phone", None)
        pensioner = create_pensioner(db.session, id_number=make_id_number(birth=date(1950, 1, 2)), **fields)
        if photo:
            enrol_face(db.session, live_server.app.config, pensioner, photo)
        if own:
            create_account(
                db.session,
                phone=phone,
                password=PASSWORD,
                real_name=pensioner.name,
                id_number=pensioner.id_number,
            )
        else:
            create_account(db.session, phone=phone, password=PASSWORD, real_name="李秀英")
        db.session.commit()
        return phone, pensioner.id


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def sign_in(page: Page, phone: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(heading(page)).to_have_text("资格认证")


def agree(page: Page, axe) -> None:
    expect(heading(page)).to_have_text("同意人脸识别认证")
    page.get_by_role("button", name="继续").click()
    expect(page.locator(".error-summary")).to_be_focused()
    axe(page, "the consent page with an error")
    page.locator("#agree").check()
    page.get_by_role("button", name="继续").click()


def face_check(page: Page, axe) -> None:
    expect(heading(page)).to_have_text("检查摄像头")
    expect(page.locator("#capture-no-js")).to_be_hidden()
    axe(page, "the camera page")
    page.get_by_role("button", name="打开摄像头").click()
    start = page.get_by_role("button", name="开始人脸识别")
    expect(start).to_be_visible()
    expect(page.locator("#capture-video")).to_have_js_property("videoWidth", 640)
    axe(page, "the camera page with the preview")
    start.click()
    expect(page.locator("#capture-prompt")).to_have_text("请眨眨眼", timeout=5_000)
    page.wait_for_url("**/certify/result/*", timeout=45_000)


def test_the_blink_clip_as_webcam_certifies_from_sign_in_to_success(webcam_page, live_server, axe):
    phone, pensioner_id = seed(live_server)
    page = webcam_page
    sign_in(page, phone)
    page.get_by_role("button", name="本人认证").click()
    agree(page, axe)
    face_check(page, axe)
    expect(heading(page)).to_have_text("认证成功")
    due = local_today() + timedelta(days=365)
    expect(page.locator("main")).to_contain_text(f"认证有效期至{due.year}年{due.month}月{due.day}日")
    axe(page, "the success page")
    with live_server.app.app_context():
        pensioner = db.session.get(Pensioner, pensioner_id)
        assert pensioner.cycle_start == local_today()
        (certification,) = db.session.scalars(
            select(Certification).where(Certification.pensioner_id == pensioner_id)
        )
        assert (
            certification.method is CertificationMethod.SELF and certification.certified_on == local_today()
        )
        (attempt,) = db.session.scalars(select(Attempt).where(Attempt.pensioner_id == pensioner_id))
        assert attempt.details["frames_received"] >= 60 and len(attempt.frames) == 3
        assert "Chrome" in attempt.user_agent


def test_a_helper_resumes_a_suspended_pensioner_in_the_browser(webcam_page, live_server, axe):
    today = local_today()
    phone, pensioner_id = seed(
        live_server,
        own=False,
        name="赵桂兰",
        cycle_start=today - timedelta(days=420),
        status=PensionerStatus.SUSPENDED,
        suspended_on=today - timedelta(days=55),
    )
    with live_server.app.app_context():
        db.session.add(Suspension(pensioner_id=pensioner_id, suspended_on=today - timedelta(days=55)))
        pensioner = db.session.get(Pensioner, pensioner_id)
        number = pensioner.id_number
        db.session.commit()
    page = webcam_page
    sign_in(page, phone)
    page.get_by_role("button", name="为他人认证").click()
    expect(heading(page)).to_have_text("请输入领取人的姓名和身份证号码")
    page.get_by_label("姓名").fill("赵桂兰")
    page.get_by_label("身份证号码").fill(make_id_number(birth=date(1950, 1, 3)))
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#id_number-error")).to_contain_text("姓名和身份证号码")
    axe(page, "the person page with the vague error")
    page.get_by_label("身份证号码").fill(number)
    page.get_by_role("button", name="继续").click()
    agree(page, axe)
    face_check(page, axe)
    expect(heading(page)).to_have_text("认证成功")
    expect(page.locator("main")).to_contain_text("恢复发放")
    axe(page, "the success page with back pay")
    page.get_by_role("button", name="保存为家人").click()
    expect(page.get_by_role("rowheader", name="赵桂兰")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(Pensioner, pensioner_id).status is PensionerStatus.ACTIVE
    page.goto("/certify/someone-else")
    expect(page.get_by_label("赵桂兰")).to_be_visible()
    axe(page, "the family member choice")


def test_a_face_that_does_not_match_gets_the_failure_page(webcam_page, live_server, axe):
    phone, _ = seed(live_server, photo=BIDEN)
    page = webcam_page
    sign_in(page, phone)
    page.get_by_role("button", name="本人认证").click()
    agree(page, axe)
    face_check(page, axe)
    expect(heading(page)).to_have_text("人脸与留存照片不符")
    expect(page.locator("main")).to_contain_text("今天还可以再试 4 次")
    axe(page, "the mismatch page")
    page.get_by_role("link", name="改为发送照片").click()
    expect(heading(page)).to_have_text("发送照片由工作人员审核")
    axe(page, "the upload page")


def test_without_a_camera_the_page_says_so_and_offers_a_photo(page, live_server, axe):
    phone, _ = seed(live_server)
    sign_in(page, phone)
    page.get_by_role("button", name="本人认证").click()
    page.locator("#agree").check()
    page.get_by_role("button", name="继续").click()
    page.get_by_role("button", name="打开摄像头").click()
    problem = page.locator("#capture-problem")
    expect(problem).to_be_visible()
    expect(problem).to_be_focused()
    expect(problem.get_by_role("heading")).to_have_text("无法使用摄像头")
    axe(page, "the camera page without a camera")
    problem.get_by_role("link", name="改为发送照片").click()
    page.get_by_label("照片").set_input_files(str(FACES / "people/obama/obama2.jpg"))
    page.get_by_role("button", name="发送照片").click()
    expect(heading(page)).to_have_text("已提交工作人员审核")
    axe(page, "the under-review page")


def test_without_javascript_the_camera_page_explains_and_offers_a_photo(browser, live_server, axe):
    phone, _ = seed(live_server)
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, phone)
        page.get_by_role("button", name="本人认证").click()
        page.locator("#agree").check()
        page.get_by_role("button", name="继续").click()
        expect(heading(page)).to_have_text("检查摄像头")
        expect(page.locator("#capture-no-js")).to_contain_text("JavaScript")
        expect(page.locator("#capture")).to_be_hidden()
        expect(page.locator("#capture-no-js").get_by_role("link", name="改为发送照片")).to_be_visible()
    finally:
        context.close()


def test_the_choice_and_refusal_pages_pass_axe(page, live_server, axe):
    phone, _ = seed(live_server, own=False)
    sign_in(page, phone)
    page.goto("/certify")
    page.get_by_role("button", name="继续").click()
    expect(page.locator(".error-summary")).to_be_focused()
    axe(page, "the choice page with an error")
    page.get_by_label("本人认证").check()
    page.get_by_role("button", name="继续").click()
    expect(heading(page)).to_have_text("您不在养老金领取人员名单中")
    axe(page, "the not-in-records page")
    page.goto("/certify/check-ended/expired")
    expect(heading(page)).to_have_text("人脸识别已超时")
    axe(page, "the expired-check page")
