from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from portal.models import AuditEvent, Certification, Pensioner, PensionerStatus, StaffRole
from portal.services.clock import local_today
from portal.staff.views import staff
from tests.factories import create_pensioner, create_staff, create_unit

PASSWORD = "correct horse battery"


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def sign_in(client, user, code: str | None = None):
    client.post("/staff/sign-in", data={"username": user.username, "password": PASSWORD})
    code = code or pyotp.TOTP(user.totp_secret).at(datetime.now(UTC))
    return client.post("/staff/sign-in/code", data={"code": code})


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_every_staff_route_checks_the_role(app):
    public_endpoints = {"staff.sign_in", "staff.second_factor"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("staff.", "admin.")) and rule.endpoint not in public_endpoints:
            view = app.view_functions[rule.endpoint]
            assert getattr(view, "staff_roles", None), f"{rule.rule} has no role check"
            checked += 1
    assert checked >= len(staff.deferred_functions) - 2


def test_staff_pages_send_visitors_to_sign_in(client):
    response = client.get("/staff/search?q=张")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in?next=/staff/search")


def test_sign_in_needs_password_and_authenticator_code(client, session):
    user = create_staff(session)
    session.commit()
    client.post("/staff/sign-in", data={"username": user.username, "password": PASSWORD})
    wrong = client.post("/staff/sign-in/code", data={"code": "000000"})
    assert "动态码不正确" in page(wrong).find(id="code-error").get_text()
    assert client.get("/staff/").status_code == 302
    signed_in = sign_in(client, user)
    assert signed_in.headers["Location"] == "/staff/"
    dashboard = page(client.get("/staff/"))
    assert dashboard.h1.get_text(strip=True) == "业务后台"


def test_wrong_password_shows_one_vague_error(client, session):
    create_staff(session)
    session.commit()
    response = client.post("/staff/sign-in", data={"username": "wang.staff", "password": "wrong"})
    html = page(response)
    assert html.title.get_text().startswith("错误：")
    assert "用户名或密码不正确" in html.find(class_="error-summary").get_text()
    unknown = page(client.post("/staff/sign-in", data={"username": "nobody", "password": "wrong"}))
    assert "用户名或密码不正确" in unknown.find(class_="error-summary").get_text()


def test_search_finds_by_name_partial_id_and_phone(client, session):
    user = create_staff(session)
    person = create_pensioner(session, name="王淑芬", phone="13655556666")
    create_pensioner(session, name="赵大海", phone="13700001111")
    session.commit()
    sign_in(client, user)
    for query in ("王淑", person.id_number[-6:], "13655556666"):
        rows = page(client.get(f"/staff/search?q={query}")).select("tbody tr")
        assert [row.a.get_text() for row in rows] == ["王淑芬"], query
    text = page(client.get("/staff/search?q=王淑")).get_text()
    assert person.id_number not in text and person.id_number[:4] + "**********" in text


def test_person_page_is_audited(client, session):
    user = create_staff(session)
    person = create_pensioner(session, name="王淑芬")
    session.commit()
    sign_in(client, user)
    html = page(client.get(f"/staff/pensioners/{person.id}"))
    assert html.h1.get_text(strip=True) == "王淑芬"
    assert person.id_number in html.get_text()
    views = session.scalars(select(AuditEvent).where(AuditEvent.action == "viewed_pensioner")).all()
    assert [(event.actor, event.subject_id) for event in views] == [(f"staff:{user.id}", person.id)]


def test_unit_clerk_sees_only_their_unit(client, session):
    own_unit = create_unit(session, code="ZMD001")
    other_unit = create_unit(session, code="ZMD002", name="驻马店市财政局")
    clerk = create_staff(session, username="clerk", role=StaffRole.UNIT, unit=own_unit)
    mine = create_pensioner(session, name="王淑芬", unit=own_unit)
    theirs = create_pensioner(session, name="王建华", unit=other_unit)
    session.commit()
    sign_in(client, clerk)
    rows = page(client.get("/staff/search?q=王")).select("tbody tr")
    assert [row.a.get_text() for row in rows] == ["王淑芬"]
    assert client.get(f"/staff/pensioners/{mine.id}").status_code == 200
    assert client.get(f"/staff/pensioners/{theirs.id}").status_code == 404


def test_public_account_cannot_open_staff_pages(client, session):
    from tests.factories import create_account

    account = create_account(session)
    session.commit()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = account.get_id()
        browser_session["_fresh"] = True
    assert client.get("/staff/").status_code == 302


def test_create_staff_command_prints_the_authenticator_secret(cli, session):
    result = cli.invoke(
        args=["create-staff", "li.admin", "--role", "admin"], input="a strong password\na strong password\n"
    )
    assert result.exit_code == 0, result.output
    assert "Authenticator secret:" in result.output
    short = cli.invoke(args=["create-staff", "li.other", "--role", "admin"], input="short\nshort\n")
    assert short.exit_code != 0
    assert "至少 10 个字符" in short.output


def test_person_page_says_the_status_in_plain_words(client, session):
    user = create_staff(session)
    today = local_today()
    person = create_pensioner(session, name="王淑芬", cycle_start=today - timedelta(days=300))
    session.commit()
    sign_in(client, user)
    lead = page(client.get(f"/staff/pensioners/{person.id}")).find(class_="lead").get_text(" ", strip=True)
    due = today + timedelta(days=65)
    assert f"认证有效期至{due.year}年{due.month}月{due.day}日" in lead.replace(" ", "") or "65" in lead


def test_staff_record_an_offline_certification_that_resumes_payment(client, session):
    user = create_staff(session)
    today = local_today()
    person = create_pensioner(
        session,
        name="王淑芬",
        cycle_start=today - timedelta(days=400),
        status=PensionerStatus.SUSPENDED,
        suspended_on=today - timedelta(days=30),
    )
    session.commit()
    sign_in(client, user)
    form_page = page(client.get(f"/staff/pensioners/{person.id}/record-certification"))
    assert form_page.h1.get_text(strip=True) == "记录线下认证"
    seen = today - timedelta(days=2)
    response = client.post(
        f"/staff/pensioners/{person.id}/record-certification",
        data={
            "certified_on": seen.isoformat(),
            "channel": "home_visit",
            "note": "社区网格员陪同上门，本人在家",
        },
    )
    assert response.status_code == 302
    html = page(client.get(response.headers["Location"]))
    assert "已记录认证" in html.find(class_="notification").get_text()
    assert "上门" in html.find("tbody").get_text()
    session.expire_all()
    refreshed = session.get(Pensioner, person.id)
    assert refreshed.status is PensionerStatus.ACTIVE
    assert refreshed.cycle_start == seen
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "recorded_offline_certification"))


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"certified_on": "", "channel": "counter", "note": "窗口"}, "certified_on", "请输入见到本人的日期"),
        ({"certified_on": "2026-02-30", "channel": "counter", "note": "窗口"}, "certified_on", "日期不存在"),
        ({"certified_on": "TODAY-40", "channel": "counter", "note": "窗口"}, "certified_on", "30 天"),
        ({"certified_on": "TODAY+1", "channel": "counter", "note": "窗口"}, "certified_on", "不能是将来"),
        ({"certified_on": "TODAY", "note": "窗口"}, "channel", "请选择"),
        ({"certified_on": "TODAY", "channel": "counter", "note": ""}, "note", "请填写备注"),
    ],
)
def test_offline_certification_rejects_bad_input_and_changes_nothing(client, session, form, field, message):
    user = create_staff(session)
    person = create_pensioner(session)
    session.commit()
    sign_in(client, user)
    today = local_today()
    shifts = {"TODAY": 0, "TODAY-40": -40, "TODAY+1": 1}
    if form.get("certified_on") in shifts:
        form = form | {"certified_on": (today + timedelta(days=shifts[form["certified_on"]])).isoformat()}
    html = page(client.post(f"/staff/pensioners/{person.id}/record-certification", data=form))
    assert message in html.find(id=f"{field}-error").get_text()
    assert session.scalar(select(func.count()).select_from(Certification)) == 0


def test_unit_clerks_cannot_record_certifications(client, session):
    unit = create_unit(session, code="ZMD001")
    clerk = create_staff(session, username="clerk", role=StaffRole.UNIT, unit=unit)
    person = create_pensioner(session, unit=unit)
    session.commit()
    sign_in(client, clerk)
    assert client.get(f"/staff/pensioners/{person.id}/record-certification").status_code == 403


def test_idle_staff_are_signed_out_and_told_why(client, session):
    import time

    from portal.auth.session_timeout import LAST_SEEN

    user = create_staff(session)
    session.commit()
    sign_in(client, user)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as cookie_session:
        cookie_session[LAST_SEEN] = time.time() - 21 * 60
    response = client.get("/staff/")
    assert response.headers["Location"] == "/staff/sign-in"
    notice = page(client.get("/staff/sign-in")).find(class_="notice-panel")
    assert "20 分钟" in notice.get_text(" ", strip=True)
    assert client.get("/staff/").status_code == 302


def test_dashboard_counts_only_the_clerks_unit(client, session):
    own_unit = create_unit(session, code="ZMD001")
    other_unit = create_unit(session, code="ZMD002", name="驻马店市财政局")
    clerk = create_staff(session, username="clerk", role=StaffRole.UNIT, unit=own_unit)
    today = local_today()
    create_pensioner(session, unit=own_unit, cycle_start=today - timedelta(days=350))
    create_pensioner(
        session, unit=own_unit, status=PensionerStatus.SUSPENDED, cycle_start=today - timedelta(days=400)
    )
    create_pensioner(session, unit=other_unit, cycle_start=today - timedelta(days=350))
    session.commit()
    sign_in(client, clerk)
    rows = {
        row.th.get_text(strip=True): row.td.get_text(strip=True)
        for row in page(client.get("/staff/")).select("tbody tr")
    }
    assert rows == {
        "正常发放": "1",
        "30 天内到期": "1",
        "已逾期，将在下次每日处理时暂停发放": "0",
        "暂停发放": "1",
        "已终止": "0",
    }
