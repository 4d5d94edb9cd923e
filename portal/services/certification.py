"""Face certification (DESIGN.md §1, §4): who may certify whom, one-time challenges, attempts, reviews.

Flask-free: the views pass the session, the settings, the image store and the SMS backend, and commit.
Every webcam session and every uploaded photo becomes an Attempt row (who, for whom, how, the verdict,
the scores, IP and browser) with up to 3 pictures kept encrypted for the retention period. A success
goes into the certifications ledger through the cycle engine, which also resumes a suspended pensioner.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.models import (
    Account,
    Attempt,
    AttemptFrame,
    AttemptMode,
    AttemptResult,
    CertificationChallenge,
    CertificationMethod,
    Pensioner,
    PensionerStatus,
    ReviewCase,
    ReviewReason,
    ReviewStatus,
    StaffUser,
    Suspension,
)
from portal.models.base import utcnow
from portal.services import cycle_texts
from portal.services.accounts import find_pensioner, own_pensioner
from portal.services.clock import SERVICE_TIMEZONE, local_date
from portal.services.cycle import CertificationOutcome, next_month, record_certification
from portal.services.faces import (
    FaceLimits,
    encode_face,
    encoding_from_bytes,
    face_distance,
    load_image,
    single_face,
)
from portal.services.image_store import ImageStore
from portal.services.liveness import issue_challenge, parse_challenges
from portal.services.messages import N_
from portal.services.sms import SmsBackend, Text, queue_texts
from portal.services.validation import InvalidInput
from portal.services.verification import VerificationResult, VerificationSettings, verify_session
from portal.services.verification_codes import as_utc

STORED_FRAMES = 3
# Modes that are face attempts by the public: the daily limit counts these.
FACE_MODES = (AttemptMode.SELF, AttemptMode.OTHER, AttemptMode.UPLOAD)
# Results that mean an account really certified (or asked staff to certify) someone.
HELPED_RESULTS = (AttemptResult.SUCCESS, AttemptResult.REVIEW)
# An uploaded photo this close to the photo on file is probably a copy of it: staff are told.
COPY_DISTANCE = 0.15
USER_AGENT_LENGTH = 300
FRAMES_TASK = "expired_face_frames_deleted"


@dataclass(frozen=True)
class CertifySettings:
    attempts_per_day: int
    others_limit: int
    others_window_days: int
    retention_days: int
    cycle_days: int
    service_phone: str
    fixed_steps: tuple[str, ...] | None
    verification: VerificationSettings
    photo_limits: FaceLimits

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CertifySettings:
        return cls(
            attempts_per_day=int(config["FACE_ATTEMPTS_PER_DAY"]),
            others_limit=int(config["CERTIFY_OTHERS_LIMIT"]),
            others_window_days=int(config["CERTIFY_OTHERS_WINDOW_DAYS"]),
            retention_days=int(config["FACE_FRAMES_RETENTION_DAYS"]),
            cycle_days=int(config["CYCLE_DAYS"]),
            service_phone=str(config["SERVICE_PHONE"]),
            fixed_steps=parse_challenges(config.get("LIVENESS_CHALLENGES")),
            verification=VerificationSettings.from_config(config),
            photo_limits=FaceLimits.from_config(config),
        )


class CertificationRefused(InvalidInput):
    """This certification cannot go ahead; `reason` is a stable code, `message` (N_) says why."""

    MESSAGES: dict[str, str] = {  # noqa: RUF012
        "terminated": N_(
            "Payment of this pension has ended, so there is nothing to certify. "
            "If you think this is wrong, call the business line."
        ),
        "no_reference": N_(
            "There is no photo on file for this pensioner, so the face check cannot be done online. "
            "Certify at a service point or the office counter, or ask for a home visit."
        ),
        "attempts_today": N_(
            "This pensioner has had %(limit)s tries today, the most allowed in one day. "
            "Try again tomorrow, or use one of the other ways to certify."
        ),
        "others_limit": N_(
            "You have certified %(limit)s different people in the last 12 months, the most one account "
            "may help. Each person can still be certified from their own phone, by a family member, "
            "or at a community service point."
        ),
        "own_record": N_(
            "These are your own name and ID card number: choose “Certify for yourself” instead."
        ),
        "not_in_records": N_(
            "Your name and ID card number are not in the pension records, so you cannot certify for yourself."
        ),
    }

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason
        self.params = params


class ChallengeRefused(InvalidInput):
    """The frames came with a challenge that cannot be used (again)."""

    MESSAGES: dict[str, str] = {  # noqa: RUF012
        "unknown": N_("This face check was not started from your account. Start the check again."),
        "used": N_("This face check has already been used. Each check can be used once: start a new one."),
        "expired": N_("The face check took longer than 90 seconds, so it has run out. Start a new one."),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class AttemptOutcome:
    attempt: Attempt
    verification: VerificationResult | None
    certification: CertificationOutcome | None = None
    review_case: ReviewCase | None = None


# ---- who may certify whom ------------------------------------------------------------------------


def own_record(session: Session, account: Account) -> Pensioner:
    """The account holder's own registry entry, or CertificationRefused("not_in_records")."""
    pensioner = own_pensioner(session, account)
    if pensioner is None:
        raise CertificationRefused("not_in_records")
    return pensioner


def find_other_person(session: Session, account: Account, name: str, id_number: str) -> Pensioner:
    """The registry entry matching both name and ID number; one vague message for any mismatch."""
    pensioner = find_pensioner(session, name, id_number)
    if pensioner.id_number == account.id_number:
        raise CertificationRefused("own_record")
    return pensioner


def is_for_other(account: Account, pensioner: Pensioner) -> bool:
    return pensioner.id_number != account.id_number


def local_day_start(day: date) -> datetime:
    """The UTC moment local day `day` begins in Asia/Shanghai."""
    return datetime.combine(day, time(), tzinfo=SERVICE_TIMEZONE).astimezone(UTC)


def attempts_used_today(session: Session, pensioner_id: int, now: datetime) -> int:
    """Face attempts for the pensioner since local midnight, by every account together.

    Checks still in progress count too, so opening several at once cannot get past the limit. Sessions
    whose pictures could not be used at all (too few, unreadable) do not count against the person.
    """
    start = local_day_start(local_date(now))
    finished = session.scalar(
        select(func.count(Attempt.id)).where(
            Attempt.pensioner_id == pensioner_id,
            Attempt.mode.in_(FACE_MODES),
            Attempt.result != AttemptResult.ERROR,
            Attempt.started_at >= start,
        )
    )
    open_checks = session.scalar(
        select(func.count(CertificationChallenge.id)).where(
            CertificationChallenge.pensioner_id == pensioner_id,
            CertificationChallenge.used_at.is_(None),
            CertificationChallenge.expires_at > now,
            CertificationChallenge.issued_at >= start,
        )
    )
    return int(finished or 0) + int(open_checks or 0)


def attempts_left_today(session: Session, pensioner_id: int, now: datetime, settings: CertifySettings) -> int:
    return max(0, settings.attempts_per_day - attempts_used_today(session, pensioner_id, now))


def others_helped(session: Session, account_id: int, now: datetime, window_days: int) -> set[int]:
    """The different people the account certified, or sent for review, within the window."""
    since = now - timedelta(days=window_days)
    return set(
        session.scalars(
            select(Attempt.pensioner_id)
            .where(
                Attempt.account_id == account_id,
                Attempt.for_other.is_(True),
                Attempt.result.in_(HELPED_RESULTS),
                Attempt.started_at >= since,
            )
            .distinct()
        )
    )


def check_can_certify(
    session: Session, account: Account, pensioner: Pensioner, settings: CertifySettings, now: datetime
) -> None:
    """Raise CertificationRefused when this account may not try to certify this pensioner now."""
    if pensioner.status is PensionerStatus.TERMINATED:
        raise CertificationRefused("terminated")
    if pensioner.reference_face is None:
        raise CertificationRefused("no_reference")
    if is_for_other(account, pensioner) and not account.is_service_point:
        helped = others_helped(session, account.id, now, settings.others_window_days)
        if pensioner.id not in helped and len(helped) >= settings.others_limit:
            raise CertificationRefused("others_limit", limit=settings.others_limit)
    if attempts_left_today(session, pensioner.id, now, settings) <= 0:
        raise CertificationRefused("attempts_today", limit=settings.attempts_per_day)


# ---- one-time challenges -------------------------------------------------------------------------


def start_challenge(
    session: Session,
    account: Account,
    pensioner: Pensioner,
    settings: CertifySettings,
    now: datetime,
    consented_at: datetime | None = None,
    rng: random.Random | None = None,
) -> CertificationChallenge:
    """Issue and store a one-time challenge for a webcam check; the caller commits."""
    check_can_certify(session, account, pensioner, settings, now)
    challenge = issue_challenge(now, rng, fixed=settings.fixed_steps)
    row = CertificationChallenge(
        nonce=challenge.nonce,
        account_id=account.id,
        pensioner_id=pensioner.id,
        mode=AttemptMode.OTHER if is_for_other(account, pensioner) else AttemptMode.SELF,
        steps=",".join(challenge.steps),
        issued_at=challenge.issued_at,
        expires_at=challenge.expires_at,
        consented_at=consented_at,
    )
    session.add(row)
    session.flush()
    return row


def claim_challenge(session: Session, nonce: str, account: Account, now: datetime) -> CertificationChallenge:
    """Mark the challenge used and return it; a nonce works once, for its account, within 90 seconds."""
    claimed = session.execute(
        update(CertificationChallenge)
        .where(
            CertificationChallenge.nonce == nonce,
            CertificationChallenge.account_id == account.id,
            CertificationChallenge.used_at.is_(None),
            CertificationChallenge.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    challenge = session.scalars(
        select(CertificationChallenge)
        .where(CertificationChallenge.nonce == nonce)
        .execution_options(populate_existing=True)
    ).first()
    if claimed.rowcount == 1 and challenge is not None:
        return challenge
    if challenge is None or challenge.account_id != account.id:
        raise ChallengeRefused("unknown")
    if challenge.used_at is not None:
        raise ChallengeRefused("used")
    raise ChallengeRefused("expired")


# ---- attempts ------------------------------------------------------------------------------------


@contextmanager
def _frames_stored(
    store: ImageStore, attempt: Attempt, pictures: Sequence[tuple[int, bytes]], now: datetime
) -> Iterator[None]:
    """Store up to STORED_FRAMES pictures (index, bytes) as the attempt's frames for the block that saves
    the attempt; if anything fails, storing included, the pictures already stored are deleted again."""
    keys: list[str] = []
    try:
        for index, data in pictures[:STORED_FRAMES]:
            key = store.put(data)
            keys.append(key)
            attempt.frames.append(AttemptFrame(frame_index=index, image_key=key, captured_at=now))
        yield
    except BaseException:
        for key in keys:
            store.delete(key)
        raise


def _frames_to_keep(result: VerificationResult, frames: Sequence[bytes]) -> list[int]:
    """The verifier's chosen frontal frames; without them (no face, two faces), three spread over the
    session, so staff can see what the camera saw."""
    if result.result == AttemptResult.ERROR:
        return []
    if result.chosen_frames:
        return list(result.chosen_frames)[:STORED_FRAMES]
    if not frames:
        return []
    last = len(frames) - 1
    return sorted({0, last // 2, last})


def back_pay_months(suspended_on: date, resume_from: date) -> list[date]:
    """Months withheld by a suspension (suspended on their first day, before resume_from): back-paid."""
    month = suspended_on if suspended_on.day == 1 else next_month(suspended_on)
    months = []
    while month < resume_from:
        months.append(month)
        month = next_month(month)
    return months


def _resumption(
    session: Session, pensioner: Pensioner, outcome: CertificationOutcome
) -> dict[str, Any] | None:
    if not outcome.resumed or outcome.resume_from is None:
        return None
    suspension = session.scalars(
        select(Suspension)
        .where(Suspension.pensioner_id == pensioner.id, Suspension.resume_from == outcome.resume_from)
        .order_by(Suspension.suspended_on.desc())
    ).first()
    months = back_pay_months(suspension.suspended_on, outcome.resume_from) if suspension else []
    return {
        "resume_from": outcome.resume_from.isoformat(),
        "back_pay_months": [month.isoformat() for month in months],
    }


def _masked_phone(phone: str) -> str:
    return f"尾号{phone[-4:]}"


def certified_by_other_text(helper: Account, due: date, resume_from: date | None, service_phone: str) -> str:
    """The pensioner's text when someone else certified them: who did it, so a stranger is noticed."""
    text = (
        f"{cycle_texts.SIGNATURE}{helper.real_name}（手机{_masked_phone(helper.phone)}）已通过资格认证服务平台"
        f"为您完成领取待遇资格认证，有效期至{cycle_texts.chinese_date(due)}"
    )
    if resume_from is not None:
        text += f"，养老金自{cycle_texts.chinese_month(resume_from)}起恢复发放并补发暂停期间待遇"
    return f"{text}。如非您本人知情，请致电{service_phone}"


def _record_success(
    session: Session,
    attempt: Attempt,
    pensioner: Pensioner,
    method: CertificationMethod,
    recorded_by: str,
    today: date,
    settings: CertifySettings,
    on: date | None = None,
    note: str = "",
) -> CertificationOutcome:
    outcome = record_certification(
        session,
        pensioner,
        on or today,
        method,
        recorded_by,
        note=note,
        today=today,
        cycle_days=settings.cycle_days,
    )
    attempt.certification_id = outcome.certification.id
    attempt.details = {
        **(attempt.details or {}),
        "due_date": outcome.due_date.isoformat(),
        "resumption": _resumption(session, pensioner, outcome),
    }
    return outcome


def finish_webcam_attempt(
    session: Session,
    challenge: CertificationChallenge,
    account: Account,
    frames: Sequence[bytes],
    settings: CertifySettings,
    store: ImageStore,
    backend: SmsBackend,
    *,
    now: datetime,
    today: date,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> AttemptOutcome:
    """Verify the frames of a claimed challenge and record everything; the caller commits.

    On any exception the pictures already written to the store are removed again.
    """
    pensioner = session.get(Pensioner, challenge.pensioner_id)
    assert pensioner is not None
    if pensioner.status is PensionerStatus.TERMINATED:
        raise CertificationRefused("terminated")
    if pensioner.reference_face is None:
        raise CertificationRefused("no_reference")
    reference = encoding_from_bytes(pensioner.reference_face.encoding)
    result = verify_session(frames, reference, challenge.step_list, settings.verification)
    for_other = challenge.mode is AttemptMode.OTHER
    attempt = Attempt(
        pensioner_id=pensioner.id,
        account_id=account.id,
        mode=challenge.mode,
        for_other=for_other,
        challenge_id=challenge.id,
        started_at=as_utc(challenge.issued_at),
        finished_at=now,
        consented_at=challenge.consented_at,
        result=AttemptResult(result.result),
        distance=result.distance,
        details=result.details(),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None,
    )
    session.add(attempt)
    with _frames_stored(store, attempt, [(i, frames[i]) for i in _frames_to_keep(result, frames)], now):
        session.flush()
        certification = None
        review_case = None
        if result.success:
            method = CertificationMethod.OTHER if for_other else CertificationMethod.SELF
            certification = _record_success(
                session, attempt, pensioner, method, account.get_id(), today, settings
            )
            if for_other and pensioner.phone and pensioner.phone != account.phone:
                body = certified_by_other_text(
                    account, certification.due_date, certification.resume_from, settings.service_phone
                )
                queue_texts(session, backend, [Text(pensioner.phone, body, "certified_by_other")])
        elif result.result == AttemptResult.REVIEW:
            review_case = ReviewCase(
                attempt=attempt, pensioner_id=pensioner.id, reason=ReviewReason.BORDERLINE, note=""
            )
            session.add(review_case)
        session.flush()
    return AttemptOutcome(attempt, result, certification, review_case)


def submit_photo(
    session: Session,
    account: Account,
    pensioner: Pensioner,
    data: bytes,
    settings: CertifySettings,
    store: ImageStore,
    *,
    now: datetime,
    consented_at: datetime | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> AttemptOutcome:
    """One photo for people without a camera; the caller commits.

    A still photo proves nothing about being alive, so even a clear match goes to staff review; the
    automatic comparison only turns away a photo of someone else at once (result "mismatch") and gives
    staff the distance. An unreadable photo, or one without exactly one usable face, raises
    ImageRejected or FaceRejected and records nothing.
    """
    check_can_certify(session, account, pensioner, settings, now)
    image = load_image(data, settings.photo_limits)
    encoding = encode_face(image, single_face(image, settings.photo_limits))
    assert pensioner.reference_face is not None
    distance = face_distance(encoding, encoding_from_bytes(pensioner.reference_face.encoding))
    mismatch = distance > settings.verification.review_distance
    attempt = Attempt(
        pensioner_id=pensioner.id,
        account_id=account.id,
        mode=AttemptMode.UPLOAD,
        for_other=is_for_other(account, pensioner),
        started_at=now,
        finished_at=now,
        consented_at=consented_at,
        result=AttemptResult.MISMATCH if mismatch else AttemptResult.REVIEW,
        distance=distance,
        details={
            "result": "mismatch" if mismatch else "review",
            "distance": round(distance, 4),
            "photo_bytes": len(data),
            "photo_size": [int(image.shape[1]), int(image.shape[0])],
            "possibly_copy_of_reference": distance < COPY_DISTANCE,
        },
        ip_address=ip_address,
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None,
    )
    session.add(attempt)
    with _frames_stored(store, attempt, [(0, data)], now):
        review_case = None
        if not mismatch:
            review_case = ReviewCase(
                attempt=attempt, pensioner_id=pensioner.id, reason=ReviewReason.UPLOAD, note=""
            )
            session.add(review_case)
        session.flush()
    return AttemptOutcome(attempt, None, None, review_case)


def account_attempt(session: Session, account: Account, attempt_id: int) -> Attempt | None:
    """An attempt the account made; anyone else's is not there as far as this account can tell."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.account_id != account.id:
        return None
    return attempt


# ---- staff review --------------------------------------------------------------------------------


def open_review_cases(session: Session) -> list[ReviewCase]:
    """The review queue, oldest first."""
    return list(
        session.scalars(
            select(ReviewCase)
            .where(ReviewCase.status == ReviewStatus.OPEN)
            .order_by(ReviewCase.created_at, ReviewCase.id)
        )
    )


def _review_texts(case: ReviewCase, due: date | None, settings: CertifySettings) -> list[Text]:
    """The answer to the person who sent the photo and to the pensioner; `due` is None for a rejection."""
    pensioner = case.pensioner
    account = case.attempt.account
    if due is not None:
        body = (
            f"{cycle_texts.SIGNATURE}经工作人员审核，{pensioner.name}的领取待遇资格认证已完成，"
            f"有效期至{cycle_texts.chinese_date(due)}。咨询电话{settings.service_phone}"
        )
    else:
        body = (
            f"{cycle_texts.SIGNATURE}为{pensioner.name}提交的资格认证未通过工作人员审核，认证尚未完成。"
            f"请重新认证，或到社区服务网点、社保窗口办理。咨询电话{settings.service_phone}"
        )
    phones = [phone for phone in (account.phone if account else None, pensioner.phone) if phone]
    return [Text(phone, body, "review_decision") for phone in dict.fromkeys(phones)]


def decide_review(
    session: Session,
    case: ReviewCase,
    staff_user: StaffUser,
    *,
    accept: bool,
    note: str,
    settings: CertifySettings,
    backend: SmsBackend,
    now: datetime,
    today: date,
) -> AttemptOutcome:
    """Accept (a `review` certification dated the day of the photo) or reject a case; the caller commits.

    The decision is an attempt of mode "review" by the staff user; the submitter and the pensioner get
    the answer by text.
    """
    note = (note or "").strip()
    if case.status is not ReviewStatus.OPEN:
        raise InvalidInput(N_("This review case has already been decided"))
    if not accept and not note:
        raise InvalidInput(N_("Enter the reason for rejecting the photo"))
    decision = Attempt(
        pensioner_id=case.pensioner_id,
        staff_user_id=staff_user.id,
        mode=AttemptMode.REVIEW,
        started_at=now,
        finished_at=now,
        result=AttemptResult.SUCCESS if accept else AttemptResult.REJECTED,
        distance=case.attempt.distance,
        details={"review_case": case.id, "note": note},
    )
    session.add(decision)
    session.flush()
    certification = None
    if accept:
        certification = _record_success(
            session,
            decision,
            case.pensioner,
            CertificationMethod.REVIEW,
            staff_user.get_id(),
            today,
            settings,
            on=local_date(as_utc(case.attempt.started_at)),
            note=note,
        )
    case.status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    case.decided_at = now
    case.decided_by_id = staff_user.id
    case.note = note
    case.decision_attempt_id = decision.id
    queue_texts(
        session, backend, _review_texts(case, certification.due_date if certification else None, settings)
    )
    session.flush()
    return AttemptOutcome(decision, None, certification, case)


# ---- housekeeping --------------------------------------------------------------------------------


def delete_expired_frames(session: Session, on: date, config: Mapping[str, Any]) -> int:
    """Daily task: delete stored pictures older than FACE_FRAMES_RETENTION_DAYS, unless under open review."""
    retention = int(config["FACE_FRAMES_RETENTION_DAYS"])
    # A picture taken on day D is kept through day D + retention − 1.
    cutoff = local_day_start(on - timedelta(days=retention - 1))
    under_review = select(ReviewCase.attempt_id).where(ReviewCase.status == ReviewStatus.OPEN)
    frames = session.scalars(
        select(AttemptFrame).where(
            AttemptFrame.deleted_at.is_(None),
            AttemptFrame.captured_at < cutoff,
            AttemptFrame.attempt_id.not_in(under_review),
        )
    ).all()
    if not frames:
        return 0
    store = ImageStore.from_config(config)
    now = utcnow()
    for frame in frames:
        store.delete(frame.image_key)
        frame.deleted_at = now
    session.flush()
    return len(frames)
