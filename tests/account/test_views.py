from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Certification, CertificationMethod, FamilyMember, PensionerStatus
from portal.services.clock import local_today
from tests.factories import create_account, create_pensioner, create_staff, make_id_number
from tests.journeys import error_texts, page, sign_in, submit

PHONE = "13800000001"


@pytest.fixture
def signed_in(client, app):
    """A client signed in as 王秀兰, who is in the registry and was last certified 278 days ago."""
    with app.app_context():
        me = create_pensioner(db.session, name="王秀兰", cycle_start=local_today() - timedelta(days=278))
        create_account(db.session, phone=PHONE, real_name="王秀兰", id_number=me.id_number)
        db.session.commit()
    sign_in(client, PHONE)
    return client


def test_the_home_page_needs_a_signed_in_account(client):
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"


def test_a_staff_member_is_asked_to_sign_in_with_an_account(client, app):
    with app.app_context():
        secret = create_staff(db.session, username="wang.staff", password="correct horse battery").totp_secret
        db.session.commit()
    submit(client, "/staff/sign-in", {"username": "wang.staff", "password": "correct horse battery"})
    assert submit(client, "/staff/sign-in/code", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/account").headers["Location"] == "/sign-in?next=/account"


def test_my_status_is_in_plain_words(signed_in):
    html = page(signed_in.get("/account"))
    assert html.h1.get_text(strip=True) == "资格认证"
    due = local_today() - timedelta(days=278) + timedelta(days=365)
    status = html.find(class_="status-text").get_text(strip=True)
    assert status == f"认证有效期至 {due.year}年{due.month}月{due.day}日，还有 87 天"
    buttons = [link.get_text(strip=True) for link in html.main.find_all("a", role="button")]
    assert buttons == ["本人认证", "为他人认证"]


def test_my_status_in_english(signed_in):
    signed_in.get("/language/en")
    due = local_today() - timedelta(days=278) + timedelta(days=365)
    status = page(signed_in.get("/account")).find(class_="status-text").get_text(strip=True)
    assert status == f"Certified until {due.day} {due:%B} {due.year}: 87 days left"


def test_a_suspended_pensioner_is_told_in_plain_words(client, app):
    with app.app_context():
        suspended_on = local_today() - timedelta(days=10)
        me = create_pensioner(
            db.session,
            name="王秀兰",
            cycle_start=local_today() - timedelta(days=376),
            status=PensionerStatus.SUSPENDED,
            suspended_on=suspended_on,
        )
        create_account(db.session, phone=PHONE, real_name="王秀兰", id_number=me.id_number)
        db.session.commit()
    sign_in(client, PHONE)
    status = page(client.get("/account")).find(class_="status-text").get_text(strip=True)
    assert f"自 {suspended_on.year}年{suspended_on.month}月{suspended_on.day}日 起暂停发放" in status
    assert "次月恢复发放，并补发暂停期间的待遇" in status


def test_someone_not_in_the_registry_can_only_certify_for_others(client, app):
    with app.app_context():
        create_account(db.session, phone=PHONE, real_name="李明")
        db.session.commit()
    sign_in(client, PHONE)
    html = page(client.get("/account"))
    assert "养老金记录中没有您的姓名和身份证号码" in html.get_text()
    assert [link.get_text(strip=True) for link in html.main.find_all("a", role="button")] == ["为他人认证"]


def test_the_certify_buttons_start_the_certification_journey(client, app):
    with app.app_context():
        me = create_pensioner(db.session, name="王秀兰", cycle_start=local_today() - timedelta(days=300))
        create_account(db.session, phone=PHONE, real_name="王秀兰", id_number=me.id_number)
        db.session.commit()
    sign_in(client, PHONE)
    buttons = page(client.get("/account")).main.find_all("a", role="button")
    assert [(button.get_text(strip=True), button["href"]) for button in buttons] == [
        ("本人认证", "/certify/self"),
        ("为他人认证", "/certify/someone-else"),
    ]


def test_a_family_member_is_added_by_name_and_id_number_and_shown_masked(signed_in, app):
    with app.app_context():
        mother = create_pensioner(db.session, name="张桂英", cycle_start=local_today() - timedelta(days=300))
        db.session.commit()
        id_number = mother.id_number
    html = page(signed_in.get("/account/family-members/add"))
    assert html.find("label", attrs={"for": "real_name"}).get_text(strip=True) == "姓名"
    assert not html.find("input", id="id_number").has_attr("inputmode")
    response = submit(
        signed_in, "/account/family-members/add", {"real_name": "张桂英", "id_number": id_number}
    )
    assert response.headers["Location"] == "/account"
    html = page(signed_in.get("/account"))
    assert "已将张桂英添加到家人。" in html.get_text()
    row = html.find("th", string="张桂英").find_parent("tr")
    cells = [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
    assert cells[0] == f"{id_number[:4]}**********{id_number[-4:]}"
    assert cells[1].startswith("认证有效期至") and cells[1].endswith("还有 65 天")
    assert id_number not in html.get_text()


@pytest.mark.parametrize(
    ("name", "id_number", "message"),
    [
        ("张桂英", "wrong-check-digit", "身份证号码不正确，请逐位核对"),
        ("张桂芳", "registered", "没有找到该姓名和身份证号码的退休人员，请对照身份证核对，或拨打业务电话。"),
        ("张桂英", "unknown", "没有找到该姓名和身份证号码的退休人员，请对照身份证核对，或拨打业务电话。"),
        ("", "registered", "请输入姓名"),
    ],
)
def test_a_family_member_must_match_the_registry(signed_in, app, name, id_number, message):
    with app.app_context():
        registered = create_pensioner(db.session, name="张桂英").id_number
        db.session.commit()
    typed = {
        "registered": registered,
        "unknown": make_id_number(),
        "wrong-check-digit": registered[:17] + ("0" if registered[17] != "0" else "1"),
    }[id_number]
    response = submit(signed_in, "/account/family-members/add", {"real_name": name, "id_number": typed})
    assert message in error_texts(response).values()
    with app.app_context():
        assert db.session.scalars(select(FamilyMember)).all() == []


def test_a_family_member_is_removed_with_a_post_form(signed_in, app):
    with app.app_context():
        mother = create_pensioner(db.session, name="张桂英")
        db.session.add(FamilyMember(account_id=1, pensioner_id=mother.id))
        db.session.commit()
    html = page(signed_in.get("/account"))
    (remove,) = [button for button in html.main.find_all("button") if "移除" in button.get_text()]
    form = remove.find_parent("form")
    assert form["method"] == "post"
    assert form.find("button").get_text(" ", strip=True) == "移除 张桂英"
    response = submit(signed_in, form["action"], form_page="/account")
    assert response.headers["Location"] == "/account"
    assert "已将张桂英从家人中移除。" in page(signed_in.get("/account")).get_text()
    with app.app_context():
        assert db.session.scalars(select(FamilyMember)).all() == []


def test_someone_elses_family_member_cannot_be_removed(signed_in, app):
    with app.app_context():
        other = create_account(db.session, phone="13800000002")
        member = FamilyMember(account_id=other.id, pensioner_id=create_pensioner(db.session).id)
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    response = submit(signed_in, f"/account/family-members/{member_id}/remove", form_page="/account")
    assert response.status_code == 404
    with app.app_context():
        assert len(db.session.scalars(select(FamilyMember)).all()) == 1


def test_removing_needs_the_csrf_token(signed_in, app):
    with app.app_context():
        db.session.add(FamilyMember(account_id=1, pensioner_id=create_pensioner(db.session).id))
        db.session.commit()
    assert signed_in.post("/account/family-members/1/remove").status_code == 400
    with app.app_context():
        assert len(db.session.scalars(select(FamilyMember)).all()) == 1


def test_my_history_shows_whom_i_certified(signed_in, app):
    with app.app_context():
        mother = create_pensioner(db.session, name="张桂英")
        db.session.add(
            Certification(
                pensioner_id=mother.id,
                certified_on=local_today() - timedelta(days=3),
                method=CertificationMethod.OTHER,
                recorded_by="account:1",
                recorded_at=datetime.now(UTC),
            )
        )
        db.session.add(
            Certification(
                pensioner_id=mother.id,
                certified_on=local_today(),
                method=CertificationMethod.OFFLINE,
                recorded_by="staff:1",
            )
        )
        db.session.commit()
    html = page(signed_in.get("/account"))
    history = html.find("caption", string="我的认证记录").find_parent("table")
    rows = history.tbody.find_all("tr")
    assert len(rows) == 1
    assert "张桂英" in rows[0].get_text()
