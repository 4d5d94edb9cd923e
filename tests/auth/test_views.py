from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from portal.auth.session_timeout import LAST_SEEN
from portal.extensions import db
from portal.models import Account, CodePurpose, VerificationCode
from tests.factories import create_account, make_id_number
from tests.journeys import (
    PASSWORD,
    csrf_token,
    error_texts,
    latest_code,
    page,
    register,
    sign_in,
    submit,
    summary_texts,
    texts_to,
)

PHONE = "13812345678"


def accounts(app) -> list[Account]:
    with app.app_context():
        return list(db.session.scalars(select(Account)))


def add_account(app, **fields) -> None:
    with app.app_context():
        create_account(db.session, **fields)
        db.session.commit()


def age_codes(app, phone: str, seconds: int) -> None:
    """Move the codes texted to `phone` back in time, as if `seconds` had passed."""
    with app.app_context():
        for code in db.session.scalars(select(VerificationCode).where(VerificationCode.phone == phone)):
            code.created_at = code.created_at.replace(tzinfo=UTC) - timedelta(seconds=seconds)
            code.expires_at = code.expires_at.replace(tzinfo=UTC) - timedelta(seconds=seconds)
        db.session.commit()


def label_for(html, field_id: str) -> str:
    return html.find("label", attrs={"for": field_id}).get_text(" ", strip=True)


def to_english(client) -> None:
    client.get("/language/en")


# ---- registration, step by step ------------------------------------------------------------------


def test_registration_starts_with_the_mobile_number(client):
    html = page(client.get("/register"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 1 步，共 4 步"
    assert html.h1.get_text(strip=True) == "注册"
    phone = html.find("input", id="phone")
    assert label_for(html, "phone") == "手机号码"
    assert phone["type"] == "tel" and phone["autocomplete"] == "tel"
    assert html.find("form", method="post").has_attr("novalidate")
    assert html.find("button", string="获取验证码")


def test_the_first_step_texts_a_code_and_creates_no_account(client, app):
    response = submit(client, "/register", {"phone": "138-1234 5678"})
    assert response.headers["Location"] == "/register/code"
    (text,) = texts_to(app, PHONE)
    assert "【资格认证】您的验证码是" in text.body
    assert accounts(app) == []
    html = page(client.get("/register/code"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 2 步，共 4 步"
    code = html.find("input", id="code")
    assert label_for(html, "code") == "验证码"
    assert code["autocomplete"] == "one-time-code" and code["inputmode"] == "numeric"
    assert "138****5678" in html.get_text()
    wait = html.find(id="resend-wait")
    assert "秒后可重新获取验证码" in wait.get_text()
    assert wait.find(attrs={"data-countdown-seconds": True}).get_text() in {"59", "60"}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请输入手机号码"),
        ("1381234567", "请输入 11 位手机号码，例如 13812345678"),
        ("23812345678", "请输入 11 位手机号码，例如 13812345678"),
        ("138abcd5678", "请输入 11 位手机号码，例如 13812345678"),
    ],
)
def test_a_malformed_mobile_number_is_refused_and_kept(client, app, typed, message):
    response = submit(client, "/register", {"phone": typed})
    assert response.status_code == 200
    assert error_texts(response) == {"phone": message}
    assert summary_texts(response) == [message]
    assert page(response).title.get_text().startswith("错误：")
    assert page(response).find("input", id="phone").get("value", "") == typed
    assert page(response).find("input", id="phone")["aria-describedby"] == "phone-hint phone-error"
    assert texts_to(app, typed) == [] and accounts(app) == []


def test_a_registered_number_is_told_so_and_offered_sign_in(client, app):
    add_account(app, phone=PHONE)
    response = submit(client, "/register", {"phone": PHONE})
    assert error_texts(response) == {"phone": "该手机号码已注册，请直接登录。"}
    sign_in_link = page(response).main.find("a", string="登录")
    assert sign_in_link["href"] == "/sign-in"
    assert texts_to(app, PHONE) == []


def test_the_code_step_accepts_the_texted_code(client, app):
    submit(client, "/register", {"phone": PHONE})
    code = latest_code(app, PHONE)
    response = submit(client, "/register/code", {"code": f"{code[:3]} {code[3:]}"})
    assert response.headers["Location"] == "/register/password"
    assert accounts(app) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "请输入验证码"), ("12345", "请输入短信中的 6 位验证码"), ("12345x", "请输入短信中的 6 位验证码")],
)
def test_a_malformed_code_is_refused(client, app, typed, message):
    submit(client, "/register", {"phone": PHONE})
    response = submit(client, "/register/code", {"code": typed})
    assert error_texts(response) == {"code": message}


def test_a_wrong_code_says_how_many_tries_are_left_and_the_fifth_spends_it(client, app):
    submit(client, "/register", {"phone": PHONE})
    code = latest_code(app, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        response = submit(client, "/register/code", {"code": wrong})
        assert error_texts(response) == {"code": f"验证码不正确，还可以再试 {tries_left} 次。"}
        assert page(response).find("input", id="code")["value"] == wrong
    response = submit(client, "/register/code", {"code": wrong})
    assert error_texts(response) == {"code": "验证码不正确，5 次机会已用完，请重新获取验证码。"}
    response = submit(client, "/register/code", {"code": code})
    assert error_texts(response) == {"code": "验证码已输错 5 次，请重新获取验证码。"}


def test_an_expired_code_is_refused(client, app):
    submit(client, "/register", {"phone": PHONE})
    age_codes(app, PHONE, 5 * 60 + 1)
    response = submit(client, "/register/code", {"code": latest_code(app, PHONE)})
    assert error_texts(response) == {"code": "验证码已过期（有效期 5 分钟），请重新获取验证码。"}


def test_a_used_code_cannot_be_used_again(client, app):
    submit(client, "/register", {"phone": PHONE})
    code = latest_code(app, PHONE)
    submit(client, "/register/code", {"code": code})
    response = submit(client, "/register/code", {"code": code})
    assert error_texts(response) == {"code": "该验证码已使用过，请重新获取验证码。"}


def test_a_new_code_too_soon_says_how_many_seconds_to_wait(client, app):
    submit(client, "/register", {"phone": PHONE})
    age_codes(app, PHONE, 18)
    response = submit(client, "/register/code/new", form_page="/register/code")
    assert response.status_code == 200
    assert summary_texts(response) == ["42 秒后可重新获取验证码"]
    assert (
        page(response).find(id="resend-error").get_text(" ", strip=True) == "错误： 42 秒后可重新获取验证码"
    )
    assert len(texts_to(app, PHONE)) == 1


def test_a_new_code_after_a_minute_replaces_the_old_one(client, app):
    submit(client, "/register", {"phone": PHONE})
    first = latest_code(app, PHONE)
    age_codes(app, PHONE, 61)
    assert "现在可以重新获取验证码" in page(client.get("/register/code")).find(id="resend-wait").get_text()
    response = submit(client, "/register/code/new", form_page="/register/code")
    assert response.headers["Location"] == "/register/code"
    assert len(texts_to(app, PHONE)) == 2
    second = latest_code(app, PHONE)
    if first != second:
        assert error_texts(submit(client, "/register/code", {"code": first}))["code"].startswith(
            "验证码不正确"
        )
    assert submit(client, "/register/code", {"code": second}).status_code == 302


def test_going_back_to_the_first_step_within_the_minute_reuses_the_code(client, app):
    submit(client, "/register", {"phone": PHONE})
    assert submit(client, "/register", {"phone": PHONE}).headers["Location"] == "/register/code"
    assert len(texts_to(app, PHONE)) == 1


def test_at_most_ten_codes_a_day_go_to_one_number(client, app):
    with app.app_context():
        now = datetime.now(UTC)
        for minutes in range(10):
            db.session.add(
                VerificationCode(
                    phone=PHONE,
                    purpose=CodePurpose.REGISTER,
                    code_hash="x",
                    created_at=now - timedelta(minutes=minutes + 2),
                    expires_at=now,
                )
            )
        db.session.commit()
    response = submit(client, "/register", {"phone": PHONE})
    assert error_texts(response) == {"phone": "今天已向该手机号码发送 10 次验证码，请明天再试。"}
    assert texts_to(app, PHONE) == []


def _to_password_step(client, app) -> None:
    submit(client, "/register", {"phone": PHONE})
    submit(client, "/register/code", {"code": latest_code(app, PHONE)})


def test_the_password_step_asks_for_consent_with_links_to_the_terms(client, app):
    _to_password_step(client, app)
    html = page(client.get("/register/password"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 3 步，共 4 步"
    assert label_for(html, "password") == "密码"
    assert label_for(html, "confirm_password") == "确认密码"
    assert html.find("input", id="password")["autocomplete"] == "new-password"
    assert html.find("input", id="confirm_password")["autocomplete"] == "new-password"
    consent = html.find("label", attrs={"for": "consent"})
    assert consent.get_text(strip=True) == "我已阅读并同意服务条款及隐私保护"
    assert [link["href"] for link in consent.find_all("a")] == ["/terms", "/privacy"]
    assert html.find("button", string="下一步")


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"password": "", "confirm_password": "", "consent": "y"},
            {"password": "请设置密码", "confirm_password": "请再次确认密码"},
        ),
        (
            {"password": "short12", "confirm_password": "short12", "consent": "y"},
            {"password": "密码至少需要 8 位"},
        ),
        (
            {"password": PASSWORD, "confirm_password": "a long passw0rd", "consent": "y"},
            {"confirm_password": "两次输入的密码不一致"},
        ),
        (
            {"password": PASSWORD, "confirm_password": "", "consent": "y"},
            {"confirm_password": "请再次确认密码"},
        ),
        (
            {"password": PASSWORD, "confirm_password": PASSWORD},
            {"consent": "请勾选“我已阅读并同意服务条款及隐私保护”"},
        ),
    ],
)
def test_bad_passwords_and_missing_consent_are_refused_and_never_echoed(client, app, data, errors):
    _to_password_step(client, app)
    response = submit(client, "/register/password", data)
    assert response.status_code == 200
    assert error_texts(response) == errors
    html = page(response)
    assert not html.find("input", id="password").get("value")
    assert not html.find("input", id="confirm_password").get("value")
    assert PASSWORD not in response.get_data(as_text=True)


def _to_details_step(client, app) -> None:
    _to_password_step(client, app)
    submit(client, "/register/password", {"password": PASSWORD, "confirm_password": PASSWORD, "consent": "y"})


def test_the_details_step_asks_for_name_and_id_number(client, app):
    _to_details_step(client, app)
    html = page(client.get("/register/details"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 4 步，共 4 步"
    assert label_for(html, "real_name") == "姓名"
    assert label_for(html, "id_number") == "身份证号码"
    assert html.find("input", id="real_name")["autocomplete"] == "name"
    # ID numbers can end in X, which a numeric keypad cannot type.
    assert not html.find("input", id="id_number").has_attr("inputmode")
    assert "注：请确保以上信息真实有效" in html.get_text()
    assert html.find("button", string="注册")


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"real_name": "", "id_number": "11010519491231002X"}, {"real_name": "请输入姓名"}),
        ({"real_name": "王秀兰", "id_number": ""}, {"id_number": "请输入身份证号码"}),
        (
            {"real_name": "王秀兰", "id_number": "110105194912310021"},
            {"id_number": "身份证号码不正确，请逐位核对"},
        ),
        ({"real_name": "王秀兰", "id_number": "11010519491231002"}, {"id_number": "身份证号码应为 18 位"}),
    ],
)
def test_bad_details_are_refused_kept_and_create_nothing(client, app, data, errors):
    _to_details_step(client, app)
    response = submit(client, "/register/details", data)
    assert error_texts(response) == errors
    html = page(response)
    assert html.find("input", id="real_name").get("value", "") == data["real_name"]
    assert html.find("input", id="id_number").get("value", "") == data["id_number"]
    assert accounts(app) == []


def test_an_id_number_born_in_the_future_is_refused(client, app):
    _to_details_step(client, app)
    future = make_id_number(birth=datetime.now(UTC).date() + timedelta(days=400))
    response = submit(client, "/register/details", {"real_name": "王秀兰", "id_number": future})
    assert error_texts(response) == {"id_number": "身份证号码中的出生日期不可能正确"}
    assert accounts(app) == []


def test_the_last_step_creates_the_account_signs_in_and_confirms(client, app):
    response = register(client, app, PHONE, id_number="110105 19491231 002x")
    assert response.headers["Location"] == "/register/done"
    html = page(client.get("/register/done"))
    assert html.h1.get_text(strip=True) == "注册成功"
    assert "138****5678" in html.get_text()
    (account,) = accounts(app)
    assert account.phone == PHONE
    assert account.real_name == "王秀兰"
    assert account.id_number == "11010519491231002X"
    assert check_password_hash(account.password_hash, PASSWORD)
    assert account.terms_version == "2026-12"
    agreed = account.terms_agreed_at.replace(tzinfo=UTC)
    assert datetime.now(UTC) - agreed < timedelta(minutes=1)
    assert client.get("/account").status_code == 200


def test_the_password_hash_is_not_readable_in_the_session_cookie(client, app):
    _to_details_step(client, app)
    cookie = client.get_cookie("session").value
    assert "scrypt" not in cookie and "password" not in cookie


def test_steps_cannot_be_skipped(client, app):
    assert client.get("/register/code").headers["Location"] == "/register"
    assert client.get("/register/password").headers["Location"] == "/register"
    assert client.get("/register/details").headers["Location"] == "/register"
    submit(client, "/register", {"phone": PHONE})
    assert client.get("/register/password").headers["Location"] == "/register/code"
    assert client.get("/register/details").headers["Location"] == "/register/code"


def test_the_last_step_sent_twice_at_once_creates_one_account(client, app):
    _to_details_step(client, app)
    token = csrf_token(client, "/register/details")
    before = client.get_cookie("session").value
    data = {"csrf_token": token, "real_name": "王秀兰", "id_number": "11010519491231002X"}
    first = client.post("/register/details", data=data)
    # The second request left the browser before the first answer came back: it carries the old cookie.
    client.set_cookie("session", before, domain="localhost")
    second = client.post("/register/details", data=data)
    assert first.headers["Location"] == second.headers["Location"] == "/register/done"
    assert len(accounts(app)) == 1
    assert client.get("/register/done").status_code == 200


def test_the_last_step_sent_again_after_it_finished_goes_to_the_confirmation(client, app):
    _to_details_step(client, app)
    token = csrf_token(client, "/register/details")
    data = {"csrf_token": token, "real_name": "王秀兰", "id_number": "11010519491231002X"}
    client.post("/register/details", data=data)
    again = client.post("/register/details", data=data)
    assert again.headers["Location"] == "/register/done"
    assert len(accounts(app)) == 1


def test_a_number_registered_by_someone_else_meanwhile_is_not_registered_twice(client, app):
    _to_details_step(client, app)
    add_account(app, phone=PHONE, real_name="李四")
    response = submit(client, "/register/details", {"real_name": "王秀兰", "id_number": "11010519491231002X"})
    assert summary_texts(response) == ["该手机号码刚刚已被注册，请直接登录，或重新开始注册。"]
    assert [account.real_name for account in accounts(app)] == ["李四"]


def test_a_missing_csrf_token_gets_a_friendly_page_and_creates_nothing(client, app):
    _to_details_step(client, app)
    response = client.post(
        "/register/details", data={"real_name": "王秀兰", "id_number": "11010519491231002X"}
    )
    assert response.status_code == 400
    assert page(response).h1.get_text(strip=True) == "页面已超时"
    assert accounts(app) == []


def test_an_expired_csrf_token_gets_a_friendly_page_and_creates_nothing(client, app, monkeypatch):
    _to_details_step(client, app)
    token = csrf_token(client, "/register/details")
    two_hours_later = int(time.time()) + 2 * 60 * 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: two_hours_later)
    response = client.post(
        "/register/details",
        data={"csrf_token": token, "real_name": "王秀兰", "id_number": "11010519491231002X"},
    )
    assert response.status_code == 400
    assert page(response).h1.get_text(strip=True) == "页面已超时"
    assert accounts(app) == []


def test_registration_speaks_english_when_chosen(client, app):
    to_english(client)
    html = page(client.get("/register"))
    assert html.find(class_="step-counter").get_text(strip=True) == "Step 1 of 4"
    assert label_for(html, "phone") == "Mobile number"
    assert html.find("button", string="Get verification code")
    submit(client, "/register", {"phone": PHONE})
    assert "Pension certification: your verification code is" in texts_to(app, PHONE)[0].body
    html = page(client.get("/register/code"))
    assert label_for(html, "code") == "Verification code"
    wrong = page(submit(client, "/register/code", {"code": "1"}))
    assert "Enter the 6-digit code from the text message" in wrong.get_text()
    submit(client, "/register/code", {"code": latest_code(app, PHONE)})
    html = page(client.get("/register/password"))
    assert [label_for(html, "password"), label_for(html, "confirm_password")] == [
        "Password",
        "Confirm password",
    ]
    assert (
        label_for(html, "consent") == "I have read and agree to the terms of service and the privacy notice"
    )
    response = submit(client, "/register/password", {"password": "short", "confirm_password": "short"})
    assert error_texts(response) == {
        "password": "The password must be at least 8 characters",
        "consent": "Tick the box to agree to the terms of service and the privacy notice",
    }
    submit(client, "/register/password", {"password": PASSWORD, "confirm_password": PASSWORD, "consent": "y"})
    html = page(client.get("/register/details"))
    assert [label_for(html, "real_name"), label_for(html, "id_number")] == ["Name", "ID card number"]
    assert html.find("button", string="Register")


# ---- sign-in and sign-out --------------------------------------------------------------------------


def test_the_sign_in_page_has_the_labels_and_ways_in(client):
    html = page(client.get("/sign-in"))
    assert html.h1.get_text(strip=True) == "登录"
    assert label_for(html, "phone") == "手机号码"
    assert label_for(html, "password") == "密码"
    assert html.find("input", id="password")["autocomplete"] == "current-password"
    assert label_for(html, "remember") == "在这台设备上保持登录（记住我）"
    assert html.main.find("button", string="登录")
    links = {link.get_text(strip=True): link["href"] for link in html.main.find_all("a")}
    assert links["改用短信验证码登录"] == "/sign-in/text-code"
    assert links["忘记密码？"] == "/forgot-password"
    assert links["注册"] == "/register"


def test_signing_in_with_the_password_ends_with_the_browser_unless_remembered(client, app):
    add_account(app, phone="13800000001")
    response = sign_in(client)
    assert response.headers["Location"] == "/account"
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(cookie for cookie in cookies if cookie.startswith("session="))
    assert "Expires" not in session_cookie and "Max-Age" not in session_cookie
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert not any(cookie.startswith("remember_token=") for cookie in cookies)
    assert client.get("/account").status_code == 200


def test_remember_me_keeps_the_person_signed_in_after_the_browser_closes(client, app):
    add_account(app, phone="13800000001")
    response = sign_in(client, remember=True)
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "Expires" in remember and "HttpOnly" in remember
    client.delete_cookie("session", domain="localhost")
    assert client.get("/account").status_code == 200


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client, app):
    add_account(app, phone="13800000001")
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"
    token = csrf_token(client, "/sign-in")
    data = {"csrf_token": token, "phone": "13800000001", "password": PASSWORD}
    assert client.post("/sign-in?next=//evil.example/", data=data).headers["Location"] == "/account"


def test_an_unknown_number_is_told_to_register(client):
    response = sign_in(client, phone="13999999999")
    assert error_texts(response) == {"phone": "该手机号码尚未注册，请检查号码或先注册。"}
    assert page(response).find("input", id="phone")["value"] == "13999999999"


def test_an_empty_password_is_asked_for(client, app):
    add_account(app, phone="13800000001")
    response = sign_in(client, password="")
    assert error_texts(response) == {"password": "请输入密码"}


def test_five_wrong_passwords_lock_password_sign_in_but_not_text_code_sign_in(client, app):
    add_account(app, phone="13800000001")
    for tries_left in (4, 3, 2, 1):
        response = sign_in(client, password="not the password")
        assert error_texts(response) == {
            "password": f"密码不正确。再输错 {tries_left} 次，密码登录将锁定 15 分钟。"
        }
        assert not page(response).find("input", id="password").get("value")
    response = sign_in(client, password="not the password")
    assert error_texts(response)["password"].startswith("密码已连续输错 5 次，密码登录已锁定至")
    assert "您现在可以用短信验证码登录" in error_texts(response)["password"]
    response = sign_in(client)
    assert error_texts(response)["password"].startswith("密码已连续输错 5 次")
    submit(client, "/sign-in/text-code", {"phone": "13800000001"})
    response = submit(client, "/sign-in/text-code/enter", {"code": latest_code(app, "13800000001")})
    assert response.headers["Location"] == "/account"


def test_signing_in_with_a_text_code(client, app):
    add_account(app, phone="13800000001")
    html = page(client.get("/sign-in/text-code"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 1 步，共 2 步"
    assert submit(client, "/sign-in/text-code", {"phone": "13800000001"}).headers["Location"] == (
        "/sign-in/text-code/enter"
    )
    html = page(client.get("/sign-in/text-code/enter"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 2 步，共 2 步"
    assert label_for(html, "code") == "验证码"
    assert html.main.find("button", string="登录")
    response = submit(
        client, "/sign-in/text-code/enter", {"code": latest_code(app, "13800000001"), "remember": "y"}
    )
    assert response.headers["Location"] == "/account"
    assert any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_a_text_code_is_not_sent_to_an_unknown_number(client, app):
    response = submit(client, "/sign-in/text-code", {"phone": "13999999999"})
    assert error_texts(response) == {"phone": "该手机号码尚未注册，请检查号码或先注册。"}
    assert texts_to(app, "13999999999") == []


def test_signing_out_keeps_the_language_and_ends_the_session(client, app):
    add_account(app, phone="13800000001")
    to_english(client)
    sign_in(client)
    header = page(client.get("/account")).find("header")
    assert header.find("a", string="My certification")["href"] == "/account"
    response = submit(client, "/sign-out", form_page="/account")
    assert response.headers["Location"] == "/signed-out"
    html = page(client.get("/signed-out"))
    assert html.h1.get_text(strip=True) == "You have signed out"
    assert html.find("header").find("a", string="Sign in")
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"


def test_the_header_offers_sign_in_to_visitors(client):
    header = page(client.get("/")).find("header")
    assert header.find("a", string="登录")["href"] == "/sign-in"
    assert not header.find("button", string="退出登录")


def test_the_start_page_has_a_start_button_to_certification(client):
    start = page(client.get("/")).main.find("a", class_="button--start")
    assert start.get_text(strip=True) == "开始认证"
    assert start["href"] == "/account"


# ---- forgotten password ------------------------------------------------------------------------------


def test_a_forgotten_password_is_replaced_after_a_text_code(client, app):
    add_account(app, phone="13800000001", password_locked_until=datetime.now(UTC) + timedelta(minutes=10))
    html = page(client.get("/forgot-password"))
    assert html.h1.get_text(strip=True) == "找回密码"
    assert html.find(class_="step-counter").get_text(strip=True) == "第 1 步，共 3 步"
    assert submit(client, "/forgot-password", {"phone": "13800000001"}).headers["Location"] == (
        "/forgot-password/code"
    )
    response = submit(client, "/forgot-password/code", {"code": latest_code(app, "13800000001")})
    assert response.headers["Location"] == "/forgot-password/new-password"
    html = page(client.get("/forgot-password/new-password"))
    assert html.find(class_="step-counter").get_text(strip=True) == "第 3 步，共 3 步"
    assert html.find("input", id="password")["autocomplete"] == "new-password"
    response = submit(
        client,
        "/forgot-password/new-password",
        {"password": "a brand new password", "confirm_password": "a brand new password"},
    )
    assert response.headers["Location"] == "/sign-in"
    assert "密码已修改，请用新密码登录。" in page(client.get("/sign-in")).get_text()
    assert texts_to(app, "13800000001")[-1].purpose == "password_changed"
    assert sign_in(client, password="a brand new password").headers["Location"] == "/account"


def test_a_new_password_needs_a_proven_phone(client, app):
    add_account(app, phone="13800000001")
    assert client.get("/forgot-password/new-password").headers["Location"] == "/forgot-password"
    submit(client, "/forgot-password", {"phone": "13800000001"})
    assert client.get("/forgot-password/new-password").headers["Location"] == "/forgot-password/code"


def test_a_new_password_must_be_confirmed(client, app):
    add_account(app, phone="13800000001")
    submit(client, "/forgot-password", {"phone": "13800000001"})
    submit(client, "/forgot-password/code", {"code": latest_code(app, "13800000001")})
    response = submit(
        client, "/forgot-password/new-password", {"password": "a brand new password", "confirm_password": "x"}
    )
    assert error_texts(response) == {"confirm_password": "两次输入的密码不一致"}
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        assert check_password_hash(account.password_hash, PASSWORD)


def test_forgot_password_for_an_unknown_number_sends_nothing(client, app):
    response = submit(client, "/forgot-password", {"phone": "13999999999"})
    assert error_texts(response) == {"phone": "该手机号码尚未注册，请检查号码或先注册。"}
    assert texts_to(app, "13999999999") == []


# ---- the idle limit --------------------------------------------------------------------------------


def idle_for(client, minutes: float) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session[LAST_SEEN] = time.time() - minutes * 60


def test_signed_in_pages_carry_the_idle_warning_and_public_pages_do_not(client, app):
    assert not page(client.get("/")).find("dialog")
    add_account(app, phone="13800000001")
    sign_in(client)
    dialog = page(client.get("/account")).find("dialog", id="session-timeout")
    assert dialog["data-warn-after-seconds"] == "1080"
    assert dialog["data-sign-out-after-seconds"] == "1200"
    assert dialog.find("button", string="继续使用")
    assert "2 分钟后自动退出登录" in dialog.get_text()


def test_twenty_idle_minutes_sign_the_person_out(client, app):
    add_account(app, phone="13800000001")
    sign_in(client)
    idle_for(client, 19)
    assert client.get("/account").status_code == 200
    idle_for(client, 21)
    assert client.get("/account").headers["Location"] == "/sign-in"
    html = page(client.get("/sign-in"))
    assert "您已 20 分钟没有操作" in html.find(id="session-ended-title").find_parent("section").get_text()
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"


def test_continuing_extends_the_session(client, app):
    add_account(app, phone="13800000001")
    sign_in(client)
    idle_for(client, 19)
    token = csrf_token(client, "/account")
    idle_for(client, 19)
    response = client.post(
        "/session/extend", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 204
    with client.session_transaction() as cookie_session:
        assert time.time() - cookie_session[LAST_SEEN] < 5
    without_script = client.post("/session/extend", data={"csrf_token": token, "next": "/account"})
    assert without_script.headers["Location"] == "/account"


def test_remembered_people_have_no_idle_limit(client, app):
    add_account(app, phone="13800000001")
    sign_in(client, remember=True)
    assert not page(client.get("/account")).find("dialog")
    idle_for(client, 60)
    assert client.get("/account").status_code == 200


# ---- the SMS limits of Flask-Limiter ------------------------------------------------------------------


def test_at_most_twenty_codes_a_day_go_from_one_address(limited_client):
    app, client = limited_client
    for number in range(20):
        response = submit(client, "/sign-in/text-code", {"phone": f"1380000{number:04d}"})
        assert error_texts(response)["phone"].startswith("该手机号码尚未注册")
        client.delete_cookie("session", domain="localhost")
    for number in range(20):
        response = submit(client, "/register", {"phone": f"1390000{number:04d}"})
        assert response.status_code == 302, error_texts(response)
        client.delete_cookie("session", domain="localhost")
    response = submit(client, "/register", {"phone": "13700000000"})
    assert error_texts(response) == {
        "phone": "今天从您所在网络获取验证码的次数过多，请明天再试，或拨打业务电话。"
    }
    assert texts_to(app, "13700000000") == []


def test_the_limiter_also_counts_codes_per_number(limited_client):
    app, client = limited_client
    for _ in range(10):
        assert submit(client, "/register", {"phone": PHONE}).status_code == 302
        age_codes(app, PHONE, 61)
        with app.app_context():
            # As if the texts were recorded by another server that shares only the limiter's storage.
            db.session.execute(VerificationCode.__table__.delete())
            db.session.commit()
        client.delete_cookie("session", domain="localhost")
    response = submit(client, "/register", {"phone": PHONE})
    assert error_texts(response) == {"phone": "今天已向该手机号码发送 10 次验证码，请明天再试。"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(VerificationCode)) == 0
