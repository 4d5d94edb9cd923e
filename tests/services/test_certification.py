from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from portal.models import (
    Attempt,
    AttemptMode,
    AttemptResult,
    Certification,
    CertificationChallenge,
    CertificationMethod,
    PensionerStatus,
    ReviewCase,
    ReviewStatus,
    SmsMessage,
    Suspension,
)
from portal.services import certification as certify
from portal.services.certification import (
    CertificationRefused,
    CertifySettings,
    ChallengeRefused,
    back_pay_months,
)
from portal.services.daily import run_daily
from portal.services.faces import FaceRejected, ImageRejected
from portal.services.image_store import ImageStore
from portal.services.sms import OutboxBackend
from portal.services.validation import InvalidInput
from tests.databases import BOTH_DATABASES
from tests.face_records import BIDEN, blink_clip, enrol_face
from tests.factories import create_account, create_pensioner, create_staff, make_id_number

# 2026-03-10 09:00 in Shanghai.
NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture
def settings(app) -> CertifySettings:
    return replace(CertifySettings.from_config(app.config), fixed_steps=("blink",))


@pytest.fixture
def store(app) -> ImageStore:
    return ImageStore.from_config(app.config)


@pytest.fixture
def pensioner(session, app, faces):
    person = create_pensioner(session, cycle_start=date(2025, 4, 1))
    enrol_face(session, app.config, person)
    return person


@pytest.fixture
def helper(session):
    return create_account(session, phone="13800000009", real_name="李秀英")


def own_account(session, pensioner):
    return create_account(
        session, phone="13800000001", real_name=pensioner.name, id_number=pensioner.id_number
    )


def finish(session, challenge, account, frames, settings, store, now=NOW, today=TODAY):
    claimed = certify.claim_challenge(session, challenge.nonce, account, now + timedelta(seconds=10))
    return certify.finish_webcam_attempt(
        session,
        claimed,
        account,
        frames,
        settings,
        store,
        OutboxBackend(),
        now=now + timedelta(seconds=10),
        today=today,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 test",
    )


def add_attempt(
    session, pensioner, account, *, result=AttemptResult.MISMATCH, started_at=NOW, for_other=True
):
    attempt = Attempt(
        pensioner_id=pensioner.id,
        account_id=account.id,
        mode=AttemptMode.OTHER if for_other else AttemptMode.SELF,
        for_other=for_other,
        started_at=started_at,
        result=result,
        details={},
    )
    session.add(attempt)
    session.flush()
    return attempt


# ---- challenges ----------------------------------------------------------------------------------


@BOTH_DATABASES
def test_a_challenge_is_stored_with_its_steps_and_90_seconds(session, pensioner, settings):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(session, account, pensioner, settings, NOW, consented_at=NOW)
    stored = session.scalars(select(CertificationChallenge)).one()
    assert stored.nonce == challenge.nonce and len(challenge.nonce) >= 32
    assert stored.step_list == ("blink",) and stored.mode is AttemptMode.SELF
    assert certify.as_utc(stored.expires_at) - certify.as_utc(stored.issued_at) == timedelta(seconds=90)


def test_without_fixed_steps_two_different_random_steps_are_asked(session, pensioner, settings):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(
        session, account, pensioner, replace(settings, fixed_steps=None), NOW, rng=random.Random(4)
    )
    assert len(challenge.step_list) == 2 and len(set(challenge.step_list)) == 2


@BOTH_DATABASES
def test_a_nonce_works_once(session, pensioner, settings):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(session, account, pensioner, settings, NOW)
    assert (
        certify.claim_challenge(session, challenge.nonce, account, NOW + timedelta(seconds=5)).id
        == challenge.id
    )
    with pytest.raises(ChallengeRefused) as refused:
        certify.claim_challenge(session, challenge.nonce, account, NOW + timedelta(seconds=6))
    assert refused.value.reason == "used"


@BOTH_DATABASES
def test_a_nonce_expires_after_90_seconds(session, pensioner, settings):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(session, account, pensioner, settings, NOW)
    with pytest.raises(ChallengeRefused) as refused:
        certify.claim_challenge(session, challenge.nonce, account, NOW + timedelta(seconds=90))
    assert refused.value.reason == "expired"
    assert "90 seconds" in refused.value.message


def test_a_nonce_of_another_account_or_unknown_is_refused(session, pensioner, settings, helper):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(session, account, pensioner, settings, NOW)
    for nonce, who in ((challenge.nonce, helper), ("made-up", account)):
        with pytest.raises(ChallengeRefused) as refused:
            certify.claim_challenge(session, nonce, who, NOW)
        assert refused.value.reason == "unknown"
    assert session.get(CertificationChallenge, challenge.id).used_at is None


# ---- who may certify -----------------------------------------------------------------------------


def test_own_record_needs_name_and_id_number_to_match(session, pensioner):
    assert certify.own_record(session, own_account(session, pensioner)).id == pensioner.id
    stranger = create_account(session, phone="13800000002", real_name="王五", id_number=pensioner.id_number)
    with pytest.raises(CertificationRefused) as refused:
        certify.own_record(session, stranger)
    assert refused.value.reason == "not_in_records"


def test_finding_another_person_gives_one_vague_message_and_spots_oneself(session, pensioner, helper):
    assert certify.find_other_person(session, helper, pensioner.name, pensioner.id_number).id == pensioner.id
    messages = set()
    for name, number in ((pensioner.name, make_id_number()), ("王五", pensioner.id_number)):
        with pytest.raises(InvalidInput) as refused:
            certify.find_other_person(session, helper, name, number)
        messages.add(refused.value.message)
    assert len(messages) == 1
    with pytest.raises(CertificationRefused) as refused:
        certify.find_other_person(
            session, own_account(session, pensioner), pensioner.name, pensioner.id_number
        )
    assert refused.value.reason == "own_record"


def test_a_terminated_pensioner_cannot_be_certified(session, pensioner, helper, settings):
    pensioner.status = PensionerStatus.TERMINATED
    with pytest.raises(CertificationRefused) as refused:
        certify.start_challenge(session, helper, pensioner, settings, NOW)
    assert refused.value.reason == "terminated"


def test_a_pensioner_without_a_photo_on_file_cannot_do_the_face_check(session, helper, settings):
    person = create_pensioner(session)
    with pytest.raises(CertificationRefused) as refused:
        certify.start_challenge(session, helper, person, settings, NOW)
    assert refused.value.reason == "no_reference"


@BOTH_DATABASES
def test_five_attempts_per_pensioner_per_local_day_from_all_accounts(session, pensioner, helper, settings):
    account = own_account(session, pensioner)
    for number in range(3):
        add_attempt(session, pensioner, account, started_at=NOW - timedelta(minutes=number), for_other=False)
    add_attempt(session, pensioner, helper)
    # Sessions whose pictures were unusable and yesterday's tries do not count.
    add_attempt(session, pensioner, helper, result=AttemptResult.ERROR)
    add_attempt(session, pensioner, helper, started_at=datetime(2026, 3, 9, 15, 59, tzinfo=UTC))
    assert certify.attempts_left_today(session, pensioner.id, NOW, settings) == 1
    certify.start_challenge(session, helper, pensioner, settings, NOW)
    # The open check counts: a sixth cannot be started beside it.
    assert certify.attempts_left_today(session, pensioner.id, NOW, settings) == 0
    with pytest.raises(CertificationRefused) as refused:
        certify.start_challenge(session, account, pensioner, settings, NOW)
    assert refused.value.reason == "attempts_today" and refused.value.params == {"limit": 5}
    # Local midnight in Shanghai is 16:00 UTC.
    tomorrow = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert certify.attempts_left_today(session, pensioner.id, tomorrow, settings) == 5


def test_an_account_may_certify_8_different_other_people_a_year(session, helper, settings, app):
    people = [create_pensioner(session, name=f"张{number}") for number in range(10)]
    for person in people:
        enrol_face(session, app.config, person)
    for person in people[:7]:
        add_attempt(session, person, helper, result=AttemptResult.SUCCESS)
    # One that failed and one from more than a year ago do not count.
    add_attempt(session, people[7], helper, result=AttemptResult.MISMATCH)
    add_attempt(
        session, people[8], helper, result=AttemptResult.SUCCESS, started_at=NOW - timedelta(days=366)
    )
    add_attempt(session, people[9], helper, result=AttemptResult.REVIEW)
    assert len(certify.others_helped(session, helper.id, NOW, 365)) == 8
    with pytest.raises(CertificationRefused) as refused:
        certify.check_can_certify(session, helper, people[7], settings, NOW)
    assert refused.value.reason == "others_limit" and refused.value.params == {"limit": 8}
    # Someone already helped can be certified again.
    certify.check_can_certify(session, helper, people[0], settings, NOW)
    helper.is_service_point = True
    certify.check_can_certify(session, helper, people[7], settings, NOW)


# ---- webcam attempts with the real matcher -------------------------------------------------------


def test_a_successful_self_check_records_everything(session, pensioner, settings, store):
    account = own_account(session, pensioner)
    challenge = certify.start_challenge(session, account, pensioner, settings, NOW, consented_at=NOW)
    outcome = finish(session, challenge, account, blink_clip(), settings, store)
    attempt = outcome.attempt
    assert (
        attempt.result is AttemptResult.SUCCESS and attempt.mode is AttemptMode.SELF and not attempt.for_other
    )
    assert attempt.distance is not None and attempt.distance <= 0.5
    assert attempt.ip_address == "203.0.113.7" and attempt.user_agent == "Mozilla/5.0 test"
    assert attempt.details["liveness"]["challenges"][0]["step"] == "blink"
    assert attempt.details["due_date"] == "2027-03-10" and attempt.details["resumption"] is None
    certification = session.get(Certification, attempt.certification_id)
    assert certification.method is CertificationMethod.SELF and certification.recorded_by == account.get_id()
    assert pensioner.cycle_start == TODAY
    assert [frame.frame_index for frame in attempt.frames] == list(outcome.verification.chosen_frames)
    assert len(attempt.frames) == 3
    first = attempt.frames[0]
    assert store.get(first.image_key) == blink_clip()[first.frame_index]
    assert (
        blink_clip()[first.frame_index]
        not in (store.root / first.image_key[:2] / first.image_key[2:4] / first.image_key).read_bytes()
    )
    assert session.scalar(select(func.count(SmsMessage.id))) == 0, "no text when the pensioner did it"


def test_a_helper_success_resumes_a_suspended_pensioner_and_texts_them(
    session, pensioner, helper, settings, store
):
    pensioner.status = PensionerStatus.SUSPENDED
    pensioner.suspended_on = date(2025, 12, 15)
    pensioner.cycle_start = date(2024, 12, 1)
    session.add(Suspension(pensioner_id=pensioner.id, suspended_on=date(2025, 12, 15)))
    session.flush()
    challenge = certify.start_challenge(session, helper, pensioner, settings, NOW)
    outcome = finish(session, challenge, helper, blink_clip(), settings, store)
    assert outcome.attempt.mode is AttemptMode.OTHER and outcome.attempt.for_other
    assert pensioner.status is PensionerStatus.ACTIVE and pensioner.resume_from == date(2026, 4, 1)
    assert outcome.attempt.details["resumption"] == {
        "resume_from": "2026-04-01",
        "back_pay_months": ["2026-01-01", "2026-02-01", "2026-03-01"],
    }
    certification = session.get(Certification, outcome.attempt.certification_id)
    assert certification.method is CertificationMethod.OTHER
    (text,) = session.scalars(select(SmsMessage)).all()
    assert text.phone == pensioner.phone and text.purpose == "certified_by_other"
    assert "李秀英（手机尾号0009）" in text.body and "2027年3月10日" in text.body
    assert "2026年4月起恢复发放" in text.body


def test_someone_elses_face_is_a_mismatch_and_certifies_nothing(session, app, helper, settings, store):
    person = create_pensioner(session)
    enrol_face(session, app.config, person, BIDEN)
    challenge = certify.start_challenge(session, helper, person, settings, NOW)
    outcome = finish(session, challenge, helper, blink_clip(), settings, store)
    assert outcome.attempt.result is AttemptResult.MISMATCH and outcome.attempt.distance > 0.55
    assert outcome.attempt.certification_id is None
    assert session.scalar(select(func.count(Certification.id))) == 0
    assert len(outcome.attempt.frames) == 3, "the frames stay for the audit trail"


def test_a_still_photo_fails_liveness(session, pensioner, helper, settings, store):
    challenge = certify.start_challenge(session, helper, pensioner, settings, NOW)
    outcome = finish(session, challenge, helper, [blink_clip()[0]] * 30, settings, store)
    assert outcome.attempt.result is AttemptResult.LIVENESS_FAILED
    assert outcome.attempt.details["failed_step"] == "blink"
    assert session.scalar(select(func.count(Certification.id))) == 0


def test_unusable_frames_are_an_error_that_stores_nothing(session, pensioner, helper, settings, store):
    challenge = certify.start_challenge(session, helper, pensioner, settings, NOW)
    outcome = finish(session, challenge, helper, blink_clip()[:5], settings, store)
    assert outcome.attempt.result is AttemptResult.ERROR
    assert outcome.attempt.details["problem"] == "too_few_frames"
    assert outcome.attempt.frames == []
    assert certify.attempts_left_today(session, pensioner.id, NOW, settings) == 5


def test_a_borderline_distance_opens_a_review_case(session, pensioner, helper, settings, store):
    wide = replace(
        settings, verification=replace(settings.verification, accept_distance=-1.0, review_distance=0.9)
    )
    challenge = certify.start_challenge(session, helper, pensioner, wide, NOW)
    outcome = finish(session, challenge, helper, blink_clip(), wide, store)
    assert outcome.attempt.result is AttemptResult.REVIEW
    case = outcome.review_case
    assert (
        case.reason == "borderline" and case.status is ReviewStatus.OPEN and case.pensioner_id == pensioner.id
    )
    assert session.scalar(select(func.count(Certification.id))) == 0


def stored_files(store: ImageStore) -> list[Path]:
    return sorted(path for path in Path(store.root).rglob("*") if path.is_file())


def test_frames_of_an_attempt_the_database_refuses_are_deleted(session, pensioner, helper, settings, store):
    challenge = certify.start_challenge(session, helper, pensioner, settings, NOW)
    files_before = stored_files(store)

    def refuse(*_args) -> None:
        raise RuntimeError("the database refused the attempt")

    event.listen(Attempt, "before_insert", refuse)
    try:
        with pytest.raises(RuntimeError, match="refused the attempt"):
            finish(session, challenge, helper, blink_clip(), settings, store)
    finally:
        event.remove(Attempt, "before_insert", refuse)
    session.rollback()
    assert stored_files(store) == files_before
    assert session.scalar(select(func.count(Attempt.id))) == 0


class FillingStore(ImageStore):
    """The real store on a disk with room for `room` more pictures."""

    room = 2

    def put(self, data: bytes) -> str:
        if self.room == 0:
            raise OSError(28, "No space left on device")
        self.room -= 1
        return super().put(data)


def test_frames_stored_before_the_store_fails_are_deleted(session, app, pensioner, helper, settings, store):
    challenge = certify.start_challenge(session, helper, pensioner, settings, NOW)
    files_before = stored_files(store)
    full_after_two = FillingStore.from_config(app.config)
    with pytest.raises(OSError, match="No space left"):
        finish(session, challenge, helper, blink_clip(), settings, full_after_two)
    assert full_after_two.room == 0, "two pictures were stored before the third failed"
    session.rollback()
    assert stored_files(store) == files_before


# ---- uploaded photos -----------------------------------------------------------------------------


def test_an_uploaded_photo_that_matches_goes_to_review(session, pensioner, helper, settings, store, faces):
    data = (faces / "people/obama/obama2.jpg").read_bytes()
    outcome = certify.submit_photo(
        session, helper, pensioner, data, settings, store, now=NOW, ip_address="198.51.100.1"
    )
    attempt = outcome.attempt
    assert attempt.mode is AttemptMode.UPLOAD and attempt.result is AttemptResult.REVIEW and attempt.for_other
    assert attempt.distance < 0.55 and attempt.details["possibly_copy_of_reference"] is False
    assert outcome.review_case.reason == "upload"
    (frame,) = attempt.frames
    assert store.get(frame.image_key) == data
    assert session.scalar(select(func.count(Certification.id))) == 0


def test_an_uploaded_copy_of_the_photo_on_file_is_flagged_for_staff(
    session, pensioner, helper, settings, store, faces
):
    data = (faces / "people/obama/obama.jpg").read_bytes()
    outcome = certify.submit_photo(session, helper, pensioner, data, settings, store, now=NOW)
    assert outcome.attempt.details["possibly_copy_of_reference"] is True


def test_an_uploaded_photo_of_someone_else_is_a_mismatch_at_once(
    session, pensioner, helper, settings, store, faces
):
    data = (faces / BIDEN).read_bytes()
    outcome = certify.submit_photo(session, helper, pensioner, data, settings, store, now=NOW)
    assert outcome.attempt.result is AttemptResult.MISMATCH and outcome.review_case is None
    assert session.scalar(select(func.count(ReviewCase.id))) == 0


@pytest.mark.parametrize(
    ("photo", "problem", "reason"),
    [
        (b"%PDF-1.4 not a photo", ImageRejected, "not_an_image"),
        ("group/two_people.jpg", FaceRejected, "several_faces"),
    ],
)
def test_an_unusable_upload_is_refused_and_records_nothing(
    session, pensioner, helper, settings, store, faces, photo, problem, reason
):
    data = photo if isinstance(photo, bytes) else (faces / photo).read_bytes()
    files_before = sorted(Path(store.root).rglob("*"))
    with pytest.raises(problem) as refused:
        certify.submit_photo(session, helper, pensioner, data, settings, store, now=NOW)
    assert refused.value.reason == reason
    assert session.scalar(select(func.count(Attempt.id))) == 0
    assert sorted(Path(store.root).rglob("*")) == files_before


# ---- staff review --------------------------------------------------------------------------------


def upload_case(session, pensioner, account, settings, store, faces, now=NOW):
    data = (faces / "people/obama/obama2.jpg").read_bytes()
    return certify.submit_photo(session, account, pensioner, data, settings, store, now=now).review_case


def test_accepting_a_case_records_a_review_certification_dated_the_day_of_the_photo(
    session, pensioner, helper, settings, store, faces
):
    case = upload_case(session, pensioner, helper, settings, store, faces)
    staff = create_staff(session)
    assert certify.open_review_cases(session) == [case]
    outcome = certify.decide_review(
        session,
        case,
        staff,
        accept=True,
        note="",
        settings=settings,
        backend=OutboxBackend(),
        now=NOW + timedelta(days=2),
        today=TODAY + timedelta(days=2),
    )
    certification = session.get(Certification, outcome.attempt.certification_id)
    assert certification.method is CertificationMethod.REVIEW and certification.recorded_by == staff.get_id()
    assert certification.certified_on == TODAY
    assert outcome.attempt.mode is AttemptMode.REVIEW and outcome.attempt.staff_user_id == staff.id
    assert case.status is ReviewStatus.ACCEPTED and case.decided_by_id == staff.id
    assert certify.open_review_cases(session) == []
    phones = sorted(text.phone for text in session.scalars(select(SmsMessage)))
    assert phones == sorted([helper.phone, pensioner.phone])
    assert all("已完成" in text.body for text in session.scalars(select(SmsMessage)))


def test_rejecting_a_case_needs_a_reason_and_certifies_nothing(
    session, pensioner, helper, settings, store, faces
):
    case = upload_case(session, pensioner, helper, settings, store, faces)
    staff = create_staff(session)
    arguments = {"settings": settings, "backend": OutboxBackend(), "now": NOW, "today": TODAY}
    with pytest.raises(InvalidInput):
        certify.decide_review(session, case, staff, accept=False, note=" ", **arguments)
    outcome = certify.decide_review(session, case, staff, accept=False, note="照片模糊", **arguments)
    assert outcome.attempt.result is AttemptResult.REJECTED and case.note == "照片模糊"
    assert session.scalar(select(func.count(Certification.id))) == 0
    assert all("未通过" in text.body for text in session.scalars(select(SmsMessage)))
    with pytest.raises(InvalidInput) as refused:
        certify.decide_review(session, case, staff, accept=True, note="", **arguments)
    assert refused.value.message == "This review case has already been decided"


# ---- retention -----------------------------------------------------------------------------------


def test_frames_are_deleted_after_30_days_unless_under_open_review(
    session, pensioner, helper, settings, store, faces, app
):
    old = NOW - timedelta(days=30)
    challenge = certify.start_challenge(session, helper, pensioner, settings, old)
    expired = finish(session, challenge, helper, [blink_clip()[0]] * 30, settings, store, now=old).attempt
    recent = finish(
        session,
        certify.start_challenge(session, helper, pensioner, settings, NOW - timedelta(days=29)),
        helper,
        [blink_clip()[0]] * 30,
        settings,
        store,
        now=NOW - timedelta(days=29),
    ).attempt
    reviewed = upload_case(session, pensioner, helper, settings, store, faces, now=old).attempt
    assert certify.delete_expired_frames(session, TODAY, app.config) == 3
    assert all(frame.deleted_at is not None and not store.exists(frame.image_key) for frame in expired.frames)
    assert all(frame.deleted_at is None and store.exists(frame.image_key) for frame in recent.frames)
    assert all(store.exists(frame.image_key) for frame in reviewed.frames)
    assert certify.delete_expired_frames(session, TODAY, app.config) == 0


def test_back_pay_months_are_those_suspended_on_their_first_day():
    assert back_pay_months(date(2025, 12, 15), date(2026, 4, 1)) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert back_pay_months(date(2026, 1, 1), date(2026, 2, 1)) == [date(2026, 1, 1)]
    assert back_pay_months(date(2026, 3, 2), date(2026, 4, 1)) == []


def test_the_daily_job_deletes_expired_frames(session, pensioner, helper, settings, store, app):
    old = NOW - timedelta(days=31)
    challenge = certify.start_challenge(session, helper, pensioner, settings, old)
    attempt = finish(session, challenge, helper, [blink_clip()[0]] * 30, settings, store, now=old).attempt
    session.commit()
    report = run_daily(session, TODAY, app.config, OutboxBackend())
    assert report.tasks == {"expired_face_frames_deleted": 3}
    assert all(not store.exists(frame.image_key) for frame in attempt.frames)
