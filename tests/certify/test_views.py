from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    Account,
    Attempt,
    AttemptMode,
    AttemptResult,
    Certification,
    CertificationChallenge,
    CertificationMethod,
    FamilyMember,
    Pensioner,
    PensionerStatus,
    ReviewCase,
    SmsMessage,
    Suspension,
)
from portal.services.clock import local_today
from tests.face_records import BIDEN, blink_clip, enrol_face
from tests.factories import create_account, create_pensioner, make_id_number
from tests.journeys import csrf_token, error_texts, page, sign_in, submit

ME = "13800000001"
HELPER = "13800000009"
# A pensioner's own phone, different from every account's.
PENSIONER_PHONE = "13912345678"


@pytest.fixture
def app(app):
    app.config["LIVENESS_CHALLENGES"] = "blink"
    return app


def add_pensioner(app, faces=None, photo="people/obama/obama.jpg", **fields) -> tuple[int, str, str]:
    """A pensioner (with a photo on file from the shared faces); returns id, name, ID number."""
    with app.app_context():
        fields.setdefault("cycle_start", date(2025, 6, 1))
        fields.setdefault("phone", PENSIONER_PHONE)
        pensioner = create_pensioner(db.session, **fields)
        if faces is not None:
            enrol_face(db.session, app.config, pensioner, photo)
        db.session.commit()
        return pensioner.id, pensioner.name, pensioner.id_number


def add_account(app, phone=HELPER, **fields) -> int:
    with app.app_context():
        account = create_account(db.session, phone=phone, **fields)
        db.session.commit()
        return account.id


@pytest.fixture
def pensioner(app, faces):
    """张建国, with obama's photo on file."""
    return add_pensioner(app, faces)


@pytest.fixture
def myself(app, client, pensioner):
    """Signed in as the pensioner's own account."""
    _, name, number = pensioner
    add_account(app, phone=ME, real_name=name, id_number=number)
    sign_in(client, ME)
    return pensioner


@pytest.fixture
def helper(app, client):
    """Signed in as 李秀英, who helps other people."""
    add_account(app, phone=HELPER, real_name="李秀英")
    sign_in(client, HELPER)


def to_english(client) -> None:
    client.get("/language/en")


def heading(response) -> str:
    return page(response).h1.get_text(" ", strip=True)


def consent(client) -> None:
    response = submit(client, "/certify/consent", {"agree": "y"})
    assert response.status_code == 302 and response.location.endswith("/certify/camera")


def start_self(client) -> None:
    assert client.get("/certify/self").location.endswith("/certify/consent")
    consent(client)


def start_other(client, name: str, number: str) -> None:
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    assert response.status_code == 302 and response.location.endswith("/certify/consent"), response.location
    consent(client)


def camera_token(client) -> str:
    response = client.get("/certify/camera")
    assert response.status_code == 200, response.location
    return page(response).find(id="capture-form").find("input", attrs={"name": "csrf_token"})["value"]


def new_challenge(client, token: str) -> dict:
    response = client.post(
        "/certify/camera/challenge", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def send_frames(client, token: str, nonce: str, frames) -> object:
    files = [(io.BytesIO(frame), f"frame-{index:03d}.jpg") for index, frame in enumerate(frames)]
    return client.post(
        "/certify/camera/frames",
        data={"csrf_token": token, "nonce": nonce, "frame": files},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )


def face_check(client, frames=None):
    """The capture script's two requests; returns the result page."""
    token = camera_token(client)
    challenge = new_challenge(client, token)
    assert challenge["steps"] == ["blink"] and challenge["expires_in"] == 90
    answer = send_frames(client, token, challenge["nonce"], blink_clip() if frames is None else frames)
    assert answer.status_code == 200, answer.get_json()
    return client.get(answer.get_json()["redirect"])


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# ---- choosing whom to certify -------------------------------------------------------------------


def test_the_journey_needs_a_signed_in_account(client):
    response = client.get("/certify")
    assert response.status_code == 302 and "/sign-in" in response.location


def test_choosing_nothing_says_what_to_do(client, helper):
    response = submit(client, "/certify", {})
    assert error_texts(response) == {"who": "请选择为谁认证"}
    assert page(response).title.get_text().startswith("错误：")


def test_choosing_self_leads_to_the_consent_page(client, myself):
    response = submit(client, "/certify", {"who": "self"})
    assert response.location.endswith("/certify/self")
    response = client.get(client.get("/certify/self").location)
    assert heading(response) == "同意人脸识别认证"
    assert "第 1 步，共 2 步" in response.get_data(as_text=True)
    assert "张建国" in response.get_data(as_text=True)


def test_self_certification_needs_the_account_in_the_registry(client, helper):
    response = client.get(client.get("/certify/self").location)
    assert heading(response) == "您不在养老金领取人员名单中"
    assert page(response).find("a", href="/certify/someone-else")


def test_choosing_someone_else_without_family_members_asks_for_their_details(client, helper):
    response = submit(client, "/certify", {"who": "other"})
    assert client.get(response.location).location.endswith("/certify/someone-else/details")
    response = client.get("/certify/someone-else/details")
    assert heading(response) == "请输入领取人的姓名和身份证号码"
    assert "第 1 步，共 3 步" in response.get_data(as_text=True)


def test_someone_else_not_found_and_wrong_name_get_the_same_vague_message(client, helper, pensioner):
    _, name, number = pensioner
    not_found = submit(
        client, "/certify/someone-else/details", {"real_name": name, "id_number": make_id_number()}
    )
    wrong_name = submit(client, "/certify/someone-else/details", {"real_name": "王五", "id_number": number})
    assert error_texts(not_found) == error_texts(wrong_name)
    assert "姓名和身份证号码" in error_texts(not_found)["id_number"]
    assert count(client.application, CertificationChallenge) == 0


def test_someone_else_found_leads_to_consent_for_them(client, helper, pensioner):
    _, name, number = pensioner
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    response = client.get(response.location)
    assert heading(response) == "同意人脸识别认证"
    text = response.get_data(as_text=True)
    assert "第 2 步，共 3 步" in text and "张建国在我身边" in text
    assert number not in text, "the ID number is masked"


def test_your_own_details_as_someone_else_point_to_self_certification(client, myself):
    _, name, number = myself
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    assert "本人认证" in error_texts(response)["id_number"]


def test_saved_family_members_can_be_picked(app, client, helper, pensioner):
    pensioner_id, name, _ = pensioner
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == HELPER)).one()
        db.session.add(FamilyMember(account_id=account.id, pensioner_id=pensioner_id))
        db.session.commit()
        member_id = db.session.scalars(select(FamilyMember.id)).one()
    response = client.get("/certify/someone-else")
    labels = [label.get_text(strip=True) for label in page(response).select(".radio__label")]
    assert labels[0].startswith(name) and labels[-1] == "其他人"
    assert submit(client, "/certify/someone-else", {"person": "new"}).location.endswith(
        "/certify/someone-else/details"
    )
    assert submit(client, "/certify/someone-else", {"person": str(member_id)}).location.endswith(
        "/certify/consent"
    )
    assert client.get(f"/certify/family-member/{member_id}").location.endswith("/certify/consent")
    link = page(client.get("/account")).find("a", href=f"/certify/family-member/{member_id}")
    assert link.get_text(" ", strip=True) == f"认证 {name}"


def test_someone_elses_family_member_cannot_be_used(app, client, helper, pensioner):
    other = add_account(app, phone="13800000007")
    with app.app_context():
        db.session.add(FamilyMember(account_id=other, pensioner_id=pensioner[0]))
        db.session.commit()
        member_id = db.session.scalars(select(FamilyMember.id)).one()
    assert client.get(f"/certify/family-member/{member_id}").status_code == 404


def test_a_terminated_pensioner_cannot_be_certified(app, client, helper, faces):
    _, name, number = add_pensioner(
        app, faces, status=PensionerStatus.TERMINATED, terminated_on=date(2025, 9, 1)
    )
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    response = client.get(response.location)
    assert heading(response) == "该养老金已停止发放"
    assert count(app, CertificationChallenge) == 0


def test_a_pensioner_without_a_photo_on_file_is_told_the_other_ways(app, client, helper):
    _, name, number = add_pensioner(app)
    response = client.get(
        submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number}).location
    )
    assert heading(response) == "没有留存照片"
    assert "上门认证" in response.get_data(as_text=True)


# ---- consent and the camera page ----------------------------------------------------------------


def test_consent_is_required_before_the_camera(client, myself):
    assert client.get("/certify/self").status_code == 302
    assert client.get("/certify/camera").location.endswith("/certify/consent")
    assert client.get("/certify/upload").location.endswith("/certify/consent")
    response = submit(client, "/certify/consent", {})
    assert error_texts(response) == {"agree": "请勾选同意人脸识别认证"}


def test_the_camera_page_alone_may_use_the_camera_and_load_the_capture_script(client, myself):
    consent_page = client.get(client.get("/certify/self").location)
    assert "camera=()" in consent_page.headers["Permissions-Policy"]
    assert "capture.js" not in consent_page.get_data(as_text=True)
    consent(client)
    response = client.get("/certify/camera")
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    html = page(response)
    assert html.find("script", src="/static/js/capture.js")
    assert not html.find(attrs={"onclick": True}) and not html.find("script", src=None)
    assert html.find(id="capture").has_attr("hidden"), "shown by the script only"
    no_js = html.find(id="capture-no-js").get_text(" ", strip=True)
    assert "JavaScript" in no_js and html.find(id="capture-no-js").find("a", href="/certify/upload")
    prompts = {item["data-prompt"]: item for item in html.select("#capture-texts [data-prompt]")}
    assert prompts["blink"].get_text() == "请眨眨眼"
    assert prompts["blink"]["data-audio"] == "/static/audio/blink.mp3"


@pytest.mark.parametrize("name", ["look", "blink", "turn_left", "turn_right", "open_mouth", "checking"])
def test_every_voice_prompt_is_shipped_as_a_small_audio_file(client, name):
    response = client.get(f"/static/audio/{name}.mp3")
    assert response.status_code == 200 and response.mimetype == "audio/mpeg"
    assert 1000 < len(response.data) < 20_000
    response.close()


def test_the_pages_are_in_english_too(client, myself):
    to_english(client)
    response = client.get(client.get("/certify/self").location)
    assert heading(response) == "Agree to the face check"
    consent(client)
    assert heading(client.get("/certify/camera")) == "Check your camera"


# ---- the face check with the real matcher -------------------------------------------------------


def test_the_blink_clip_certifies_the_pensioner_themselves(app, client, myself):
    pensioner_id = myself[0]
    start_self(client)
    response = face_check(client)
    assert heading(response) == "认证成功"
    due = local_today() + timedelta(days=365)
    assert f"认证有效期至{due.year}年{due.month}月{due.day}日" in response.get_data(as_text=True)
    with app.app_context():
        (certification,) = db.session.scalars(select(Certification)).all()
        assert certification.pensioner_id == pensioner_id and certification.method is CertificationMethod.SELF
        assert db.session.get(Pensioner, pensioner_id).cycle_start == local_today()
        (attempt,) = db.session.scalars(select(Attempt)).all()
        assert attempt.mode is AttemptMode.SELF and attempt.ip_address == "127.0.0.1"
        assert len(attempt.frames) == 3
    # The check cannot be repeated without agreeing again.
    assert client.get("/certify/camera").location.endswith("/certify")


def test_a_helper_certifies_someone_else_who_gets_a_text_and_can_be_saved(app, client, helper, pensioner):
    pensioner_id, name, number = pensioner
    start_other(client, name, number)
    response = face_check(client)
    assert heading(response) == "认证成功"
    text = response.get_data(as_text=True)
    assert "已给张建国发送短信" in text
    with app.app_context():
        (sms,) = db.session.scalars(select(SmsMessage).where(SmsMessage.phone == PENSIONER_PHONE)).all()
        assert "李秀英" in sms.body
        assert db.session.scalars(select(Certification.method)).one() is CertificationMethod.OTHER
    attempt_id = int(response.request.path.rsplit("/", 1)[1])
    form_url = f"/certify/result/{attempt_id}/save-family-member"
    assert page(response).find("form", action=form_url)
    saved = client.post(form_url, data={"csrf_token": csrf_token(client, response.request.path)})
    assert saved.location.endswith("/account")
    with app.app_context():
        assert db.session.scalars(select(FamilyMember.pensioner_id)).one() == pensioner_id


def test_a_suspended_pensioner_is_told_when_payment_resumes_and_which_months_are_back_paid(
    app, client, helper, faces
):
    today = local_today()
    suspended_on = (today.replace(day=1) - timedelta(days=40)).replace(day=10)
    _, name, number = add_pensioner(
        app,
        faces,
        cycle_start=suspended_on - timedelta(days=400),
        status=PensionerStatus.SUSPENDED,
        suspended_on=suspended_on,
    )
    with app.app_context():
        pensioner = db.session.scalars(select(Pensioner).where(Pensioner.id_number == number)).one()
        db.session.add(Suspension(pensioner_id=pensioner.id, suspended_on=suspended_on))
        db.session.commit()
    start_other(client, name, number)
    response = face_check(client)
    assert heading(response) == "认证成功"
    resume = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    withheld = (suspended_on.replace(day=28) + timedelta(days=4)).replace(day=1)
    items = [item.get_text(strip=True) for item in page(response).select("main ul li")]
    assert f"{withheld.year}年{withheld.month}月" in items and f"{today.year}年{today.month}月" in items
    assert f"自{resume.year}年{resume.month}月起恢复发放" in response.get_data(as_text=True)


def test_someone_elses_face_gets_the_mismatch_page_with_tries_left(app, client, helper, faces):
    _, name, number = add_pensioner(app, faces, photo=BIDEN)
    start_other(client, name, number)
    response = face_check(client)
    assert heading(response) == "人脸与留存照片不符"
    text = response.get_data(as_text=True)
    assert "今天还可以再试 4 次" in text
    assert page(response).find("a", href="/certify/camera")
    assert page(response).find("a", href="/certify/upload")
    assert count(app, Certification) == 0


def test_a_replayed_still_photo_gets_the_liveness_page(app, client, myself):
    start_self(client)
    response = face_check(client, [blink_clip()[0]] * 30)
    assert heading(response) == "没有检测到眨眼"
    assert "请听语音提示" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Attempt.result)).one() is AttemptResult.LIVENESS_FAILED


def test_a_failure_page_in_english_names_the_reason(client, myself):
    to_english(client)
    start_self(client)
    response = face_check(client, [blink_clip()[0]] * 30)
    assert heading(response) == "You did not blink"
    assert "Tries left today: 4." in response.get_data(as_text=True)


def test_a_nonce_works_only_once(client, myself):
    start_self(client)
    token = camera_token(client)
    nonce = new_challenge(client, token)["nonce"]
    assert send_frames(client, token, nonce, [blink_clip()[0]] * 30).status_code == 200
    again = send_frames(client, token, nonce, blink_clip())
    assert again.status_code == 409
    response = client.get(again.get_json()["redirect"])
    assert heading(response) == "本次人脸识别已使用"
    assert page(response).find("a", href="/certify/camera")


def test_an_expired_nonce_asks_for_a_fresh_start(app, client, myself):
    start_self(client)
    token = camera_token(client)
    nonce = new_challenge(client, token)["nonce"]
    with app.app_context():
        past = datetime.now(UTC) - timedelta(seconds=91)
        db.session.execute(
            update(CertificationChallenge).values(issued_at=past, expires_at=past + timedelta(seconds=90))
        )
        db.session.commit()
    answer = send_frames(client, token, nonce, blink_clip())
    assert answer.status_code == 409
    response = client.get(answer.get_json()["redirect"])
    assert heading(response) == "人脸识别已超时"
    assert "90 秒" in response.get_data(as_text=True)
    assert count(app, Attempt) == 0


def test_frames_without_javascript_are_answered_with_a_redirect(client, myself):
    start_self(client)
    token = camera_token(client)
    response = client.post("/certify/camera/frames", data={"csrf_token": token, "nonce": "made-up"})
    assert response.status_code == 303 and response.location.endswith("/certify/check-ended/unknown")


def test_results_of_other_accounts_are_not_shown(app, client, myself):
    start_self(client)
    path = face_check(client, [blink_clip()[0]] * 30).request.path
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/account")})
    add_account(app, phone="13800000007")
    sign_in(client, "13800000007")
    assert client.get(path).status_code == 404


# ---- limits --------------------------------------------------------------------------------------


def test_five_tries_a_day_then_the_limit_page(app, client, myself):
    start_self(client)
    for _ in range(5):
        face_check(client, [blink_clip()[0]] * 15)
    response = client.get("/certify/camera")
    response = client.get(response.location)
    assert heading(response) == "今天的次数已用完"
    token = csrf_token(client, "/certify/someone-else/details")
    refused = client.post(
        "/certify/camera/challenge", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 409 and refused.get_json()["redirect"].endswith(
        "/not-possible/attempts_today"
    )


def test_the_last_failure_of_the_day_says_no_more_tries(app, client, myself):
    start_self(client)
    for _ in range(4):
        face_check(client, [blink_clip()[0]] * 15)
    response = face_check(client, [blink_clip()[0]] * 15)
    assert "今天已试过 5 次" in response.get_data(as_text=True)
    assert not page(response).find("a", href="/certify/camera")


def helped_eight(app, faces, account_phone=HELPER) -> list[tuple[int, str, str]]:
    people = [add_pensioner(app, faces, name=f"张{number}") for number in "一二三四五六七八九"]
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == account_phone)).one()
        for pensioner_id, _, _ in people[:8]:
            db.session.add(
                Attempt(
                    pensioner_id=pensioner_id,
                    account_id=account.id,
                    mode=AttemptMode.OTHER,
                    for_other=True,
                    result=AttemptResult.SUCCESS,
                    started_at=datetime.now(UTC) - timedelta(days=100),
                    details={},
                )
            )
        db.session.commit()
    return people


def test_an_account_may_certify_8_other_people_a_year(app, client, helper, faces):
    people = helped_eight(app, faces)
    _, name, number = people[8]
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    response = client.get(response.location)
    assert heading(response) == "您今年不能再为更多人认证"
    assert "8" in page(response).find(class_="lead").get_text()
    # The people already helped can be certified again.
    _, name, number = people[0]
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    assert response.location.endswith("/certify/consent")


def test_a_service_point_has_no_cap(app, client, faces):
    add_account(app, phone=HELPER, is_service_point=True)
    sign_in(client, HELPER)
    people = helped_eight(app, faces)
    _, name, number = people[8]
    response = submit(client, "/certify/someone-else/details", {"real_name": name, "id_number": number})
    assert response.location.endswith("/certify/consent")


# ---- no camera: uploading a photo ----------------------------------------------------------------


def upload(client, data: bytes, filename="photo.jpg"):
    token = csrf_token(client, "/certify/upload")
    return client.post(
        "/certify/upload",
        data={"csrf_token": token, "photo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_uploading_a_file_that_is_not_a_photo_says_so_and_records_nothing(app, client, helper, pensioner):
    start_other(client, pensioner[1], pensioner[2])
    response = upload(client, b"%PDF-1.4 this is a document", "letter.pdf")
    assert response.status_code == 200
    assert error_texts(response)["photo"] == "这个文件不是照片：请选择 JPEG 或 PNG 格式的图片"
    assert count(app, Attempt) == 0
    response = submit(client, "/certify/upload", {})
    assert error_texts(response) == {"photo": "请选择要发送的照片"}


def test_uploading_a_photo_of_two_people_says_so(app, client, helper, pensioner, faces):
    start_other(client, pensioner[1], pensioner[2])
    response = upload(client, (faces / "group/two_people.jpg").read_bytes())
    assert "不止一张人脸" in error_texts(response)["photo"]


def test_an_uploaded_photo_goes_to_review_and_the_page_says_when_the_answer_comes(
    app, client, helper, pensioner, faces
):
    start_other(client, pensioner[1], pensioner[2])
    response = upload(client, (faces / "people/obama/obama2.jpg").read_bytes())
    response = client.get(response.location)
    assert heading(response) == "已提交工作人员审核"
    text = response.get_data(as_text=True)
    assert "3 个工作日内" in text and "138****0009" in text
    with app.app_context():
        case = db.session.scalars(select(ReviewCase)).one()
        assert case.reason == "upload" and case.status == "open"
        assert case.attempt.mode is AttemptMode.UPLOAD
    assert count(app, Certification) == 0


def test_an_uploaded_photo_of_someone_else_is_turned_away(app, client, helper, pensioner, faces):
    start_other(client, pensioner[1], pensioner[2])
    response = client.get(upload(client, (faces / BIDEN).read_bytes()).location)
    assert heading(response) == "照片与留存照片不符"
    assert page(response).find("a", href="/certify/upload")
    assert count(app, ReviewCase) == 0


# ---- the rate limit on look-ups ------------------------------------------------------------------


def test_looking_people_up_is_rate_limited(limited_client):
    app, client = limited_client
    add_account(app)
    sign_in(client, HELPER)
    for _ in range(10):
        response = submit(
            client, "/certify/someone-else/details", {"real_name": "王五", "id_number": make_id_number()}
        )
        assert response.status_code == 200
    response = submit(
        client, "/certify/someone-else/details", {"real_name": "王五", "id_number": make_id_number()}
    )
    assert response.status_code == 429


def test_a_service_point_is_not_rate_limited(limited_client):
    app, client = limited_client
    add_account(app, is_service_point=True)
    sign_in(client, HELPER)
    for _ in range(11):
        response = submit(
            client, "/certify/someone-else/details", {"real_name": "王五", "id_number": make_id_number()}
        )
        assert response.status_code == 200


def test_a_challenge_needs_a_journey_with_consent(client, myself):
    token = csrf_token(client, "/certify")
    refused = client.post(
        "/certify/camera/challenge", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 409 and refused.get_json() == {"redirect": "/certify"}
    client.get("/certify/self")
    refused = client.post(
        "/certify/camera/challenge", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 409
    assert count(client.application, CertificationChallenge) == 0


def test_unknown_reasons_are_not_pages(client, helper):
    assert client.get("/certify/not-possible/whatever").status_code == 404
    assert client.get("/certify/check-ended/whatever").status_code == 404
    response = client.get("/certify/check-ended/unknown")
    assert heading(response) == "本次人脸识别不是从这里开始的"
    assert page(response).find("a", href="/certify"), "without a journey, start from the beginning"
