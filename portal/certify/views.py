"""The certification journey (DESIGN.md §3 item 4): who → consent → camera check and challenges → result.

The journey keeps whom it is certifying in the signed session cookie; everything that counts (the
challenge, the attempt, the certification) is in the database, so any app server can take any step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.account.views import account_required
from portal.auth.forms import PersonForm
from portal.certify.forms import ChooseForm, ChoosePersonForm, ConsentForm, PhotoForm
from portal.extensions import db, limiter
from portal.models import Account, Attempt, AttemptMode, AttemptResult, FamilyMember, Pensioner
from portal.security import allows_camera
from portal.services import accounts as account_services
from portal.services import certification
from portal.services.certification import CertificationRefused, CertifySettings, ChallengeRefused
from portal.services.clock import local_today
from portal.services.image_store import ImageStore
from portal.services.liveness import STEPS
from portal.services.sms import backend_from_config, deliver_pending
from portal.services.validation import InvalidInput, mask_id_number
from portal.services.verification import TOO_DARK

certify = Blueprint("certify", __name__, url_prefix="/certify")

FLOW = "certify"
# Name and ID look-ups for other people: enough for a family, too few to search the registry.
LOOKUP_LIMIT = "10 per hour;30 per day"
# Checks started and sent: unusable sessions do not count against a pensioner's 5 tries a day, these do.
CHALLENGE_LIMIT = "30 per hour"
FRAMES_LIMIT = "30 per hour"
NEW_PERSON = "new"


def _account_key() -> str:
    return current_user.get_id() or request.remote_addr or "unknown"


def _is_service_point() -> bool:
    return bool(getattr(current_user, "is_service_point", False))


def _settings() -> CertifySettings:
    return CertifySettings.from_config(current_app.config)


def _now() -> datetime:
    return datetime.now(UTC)


# ---- the journey's state -------------------------------------------------------------------------


@dataclass(frozen=True)
class Journey:
    pensioner: Pensioner
    for_other: bool
    consented_at: datetime | None

    @property
    def steps(self) -> tuple[str, ...]:
        """The pages after "who are you certifying?", which is the same question for everyone."""
        return ("person", "consent", "camera") if self.for_other else ("consent", "camera")

    def step(self, name: str) -> int:
        return self.steps.index(name) + 1


def _begin(pensioner: Pensioner) -> None:
    session[FLOW] = {
        "pensioner_id": pensioner.id,
        "for_other": certification.is_for_other(current_user, pensioner),
    }


def _journey() -> Journey | None:
    state = session.get(FLOW) or {}
    pensioner = db.session.get(Pensioner, state["pensioner_id"]) if state.get("pensioner_id") else None
    if pensioner is None:
        return None
    consented = state.get("consented_at")
    return Journey(
        pensioner=pensioner,
        for_other=bool(state.get("for_other")),
        consented_at=datetime.fromtimestamp(consented, UTC) if consented else None,
    )


def _refused(refusal: CertificationRefused) -> Response:
    return redirect(url_for("certify.not_possible", reason=refusal.reason))


def _checked(pensioner: Pensioner) -> Response | None:
    """Where to send the person if this pensioner cannot be certified by this account now."""
    try:
        certification.check_can_certify(db.session, current_user, pensioner, _settings(), _now())
    except CertificationRefused as refusal:
        return _refused(refusal)
    return None


def _start_with(pensioner: Pensioner) -> Response:
    refusal = _checked(pensioner)
    if refusal is not None:
        return refusal
    _begin(pensioner)
    return redirect(url_for("certify.consent"))


# ---- who -----------------------------------------------------------------------------------------


@certify.route("", methods=["GET", "POST"])
@account_required
def choose() -> str | Response:
    form = ChooseForm()
    if form.validate_on_submit():
        return redirect(url_for("certify.start_self" if form.who.data == "self" else "certify.choose_person"))
    return render_template("certify/choose.html", form=form)


@certify.get("/self")
@account_required
def start_self() -> Response:
    try:
        pensioner = certification.own_record(db.session, current_user)
    except CertificationRefused as refusal:
        return _refused(refusal)
    return _start_with(pensioner)


def _family(account: Account) -> list[FamilyMember]:
    return account_services.family_members(db.session, account)


@certify.route("/someone-else", methods=["GET", "POST"])
@account_required
def choose_person() -> str | Response:
    members = _family(current_user)
    if not members:
        return redirect(url_for("certify.person_details"))
    form = ChoosePersonForm()
    form.person.choices = [
        SelectChoice(
            str(member.id), f"{member.pensioner.name}（{mask_id_number(member.pensioner.id_number)}）"
        )
        for member in members
    ] + [SelectChoice(NEW_PERSON, _("Someone else"))]
    if form.validate_on_submit():
        if form.person.data == NEW_PERSON:
            return redirect(url_for("certify.person_details"))
        member = next(member for member in members if str(member.id) == form.person.data)
        return _start_with(member.pensioner)
    return render_template("certify/choose-person.html", form=form)


@certify.get("/family-member/<int:member_id>")
@account_required
def start_family_member(member_id: int) -> Response:
    """The quick way in from a saved family member on the account home."""
    member = db.session.get(FamilyMember, member_id)
    if member is None or member.account_id != current_user.id:
        abort(404)
    return _start_with(member.pensioner)


@certify.route("/someone-else/details", methods=["GET", "POST"])
@account_required
@limiter.limit(LOOKUP_LIMIT, key_func=_account_key, methods=["POST"], exempt_when=_is_service_point)
def person_details() -> str | Response:
    form = PersonForm()
    if form.validate_on_submit():
        try:
            pensioner = certification.find_other_person(
                db.session, current_user, form.real_name.data, form.id_number.data
            )
        except InvalidInput as refused:
            form.id_number.errors.append(_(refused.message))
        else:
            return _start_with(pensioner)
    return render_template("certify/person-details.html", form=form, has_members=bool(_family(current_user)))


@certify.get("/not-possible/<reason>")
@account_required
def not_possible(reason: str) -> str:
    if reason not in CertificationRefused.MESSAGES:
        abort(404)
    settings = _settings()
    return render_template(
        "certify/not-possible.html",
        reason=reason,
        limits={"attempts": settings.attempts_per_day, "others": settings.others_limit},
    )


# ---- consent -------------------------------------------------------------------------------------


@certify.route("/consent", methods=["GET", "POST"])
@account_required
def consent() -> str | Response:
    journey = _journey()
    if journey is None:
        return redirect(url_for("certify.choose"))
    form = ConsentForm()
    if form.validate_on_submit():
        session[FLOW] = {**session[FLOW], "consented_at": _now().timestamp()}
        return redirect(url_for("certify.camera"))
    return render_template("certify/consent.html", form=form, journey=journey)


def _consented_journey() -> Journey | Response:
    journey = _journey()
    if journey is None:
        return redirect(url_for("certify.choose"))
    if journey.consented_at is None:
        return redirect(url_for("certify.consent"))
    return journey


# ---- the camera ----------------------------------------------------------------------------------


@certify.get("/camera")
@account_required
@allows_camera
def camera() -> str | Response:
    journey = _consented_journey()
    if isinstance(journey, Response):
        return journey
    refusal = _checked(journey.pensioner)
    if refusal is not None:
        return refusal
    settings = _settings()
    return render_template(
        "certify/camera.html",
        journey=journey,
        steps=STEPS,
        max_frames=settings.verification.max_frames,
    )


def _json_redirect(url: str, status: int = 200) -> tuple[Response, int]:
    return jsonify(redirect=url), status


@certify.post("/camera/challenge")
@account_required
@limiter.limit(CHALLENGE_LIMIT, key_func=_account_key)
def new_challenge() -> tuple[Response, int]:
    """A fresh one-time challenge for the capture script, as JSON."""
    journey = _journey()
    if journey is None or journey.consented_at is None:
        return _json_redirect(url_for("certify.choose"), 409)
    try:
        challenge = certification.start_challenge(
            db.session,
            current_user,
            journey.pensioner,
            _settings(),
            _now(),
            consented_at=journey.consented_at,
        )
    except CertificationRefused as refusal:
        db.session.rollback()
        return _json_redirect(url_for("certify.not_possible", reason=refusal.reason), 409)
    db.session.commit()
    return (
        jsonify(
            nonce=challenge.nonce,
            steps=list(challenge.step_list),
            expires_in=int((challenge.expires_at - challenge.issued_at).total_seconds()),
        ),
        201,
    )


def _answer(url: str, status: int = 200) -> Response | tuple[Response, int]:
    """JSON for the capture script, a redirect for anything else."""
    if request.accept_mimetypes.best == "application/json":
        return _json_redirect(url, status)
    return redirect(url, 303)


@certify.post("/camera/frames")
@account_required
@limiter.limit(FRAMES_LIMIT, key_func=_account_key)
def frames() -> Response | tuple[Response, int]:
    now = _now()
    try:
        challenge = certification.claim_challenge(
            db.session, request.form.get("nonce", ""), current_user, now
        )
    except ChallengeRefused as refused:
        db.session.rollback()
        return _answer(url_for("certify.check_ended", reason=refused.reason), 409)
    # Committed at once: the nonce stays used even if the verification below fails.
    db.session.commit()
    pictures = [upload.read() for upload in request.files.getlist("frame")]
    backend = backend_from_config(current_app.config)
    try:
        outcome = certification.finish_webcam_attempt(
            db.session,
            challenge,
            current_user,
            pictures,
            _settings(),
            ImageStore.from_config(current_app.config),
            backend,
            now=now,
            today=local_today(),
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
        )
    except CertificationRefused as refusal:
        db.session.rollback()
        return _answer(url_for("certify.not_possible", reason=refusal.reason), 409)
    db.session.commit()
    deliver_pending(db.session, backend)
    if outcome.attempt.result is AttemptResult.SUCCESS:
        session.pop(FLOW, None)
    return _answer(url_for("certify.result", attempt_id=outcome.attempt.id))


@certify.get("/check-ended/<reason>")
@account_required
def check_ended(reason: str) -> str:
    if reason not in ChallengeRefused.MESSAGES:
        abort(404)
    return render_template("certify/check-ended.html", reason=reason, journey=_journey())


# ---- no camera: one photo for staff review -------------------------------------------------------


@certify.route("/upload", methods=["GET", "POST"])
@account_required
def upload() -> str | Response:
    journey = _consented_journey()
    if isinstance(journey, Response):
        return journey
    refusal = _checked(journey.pensioner)
    if refusal is not None:
        return refusal
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            outcome = certification.submit_photo(
                db.session,
                current_user,
                journey.pensioner,
                form.photo.data.read(),
                _settings(),
                ImageStore.from_config(current_app.config),
                now=_now(),
                consented_at=journey.consented_at,
                ip_address=request.remote_addr,
                user_agent=request.user_agent.string,
            )
        except CertificationRefused as refused:
            db.session.rollback()
            return _refused(refused)
        except InvalidInput as refused:
            db.session.rollback()
            form.photo.errors.append(_(refused.message))
        else:
            db.session.commit()
            return redirect(url_for("certify.result", attempt_id=outcome.attempt.id))
    return render_template("certify/upload.html", form=form, journey=journey)


# ---- results -------------------------------------------------------------------------------------


def _failure_title(attempt: Attempt) -> str:
    """The reason in the heading: what the person has to change."""
    details = attempt.details or {}
    if attempt.result is AttemptResult.LIVENESS_FAILED and details.get("message"):
        return _(details["message"])
    if TOO_DARK in details.get("hints", []):
        return _("The picture was too dark")
    if attempt.result is AttemptResult.MISMATCH and attempt.mode is AttemptMode.UPLOAD:
        return _("The photo does not match the photo on file")
    titles = {
        AttemptResult.NO_FACE: _("No face was seen"),
        AttemptResult.SEVERAL_FACES: _("More than one face was seen"),
        AttemptResult.TOO_SMALL: _("The face was too far from the camera"),
        AttemptResult.MISMATCH: _("The face does not match the photo on file"),
    }
    return titles.get(attempt.result, _("The pictures from the camera could not be used"))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@certify.get("/result/<int:attempt_id>")
@account_required
def result(attempt_id: int) -> str:
    attempt = certification.account_attempt(db.session, current_user, attempt_id)
    if attempt is None:
        abort(404)
    details: dict[str, Any] = attempt.details or {}
    context: dict[str, Any] = {"attempt": attempt, "pensioner": attempt.pensioner}
    if attempt.result is AttemptResult.SUCCESS:
        resumption = details.get("resumption") or {}
        saved = any(member.pensioner_id == attempt.pensioner_id for member in _family(current_user))
        return render_template(
            "certify/result-success.html",
            **context,
            due_date=_day(details.get("due_date")),
            resume_from=_day(resumption.get("resume_from")),
            back_pay_months=[_day(month) for month in resumption.get("back_pay_months", [])],
            can_save=attempt.for_other and not saved,
        )
    if attempt.result is AttemptResult.REVIEW:
        return render_template("certify/result-review.html", **context, phone=current_user.phone)
    journey = _journey()
    return render_template(
        "certify/result-failed.html",
        **context,
        title=_failure_title(attempt),
        message=details.get("message"),
        hints=details.get("hints", []),
        attempts_left=certification.attempts_left_today(
            db.session, attempt.pensioner_id, _now(), _settings()
        ),
        attempts_per_day=_settings().attempts_per_day,
        can_retry=journey is not None
        and journey.pensioner.id == attempt.pensioner_id
        and journey.consented_at is not None,
    )


@certify.post("/result/<int:attempt_id>/save-family-member")
@account_required
def save_family_member(attempt_id: int) -> Response:
    attempt = certification.account_attempt(db.session, current_user, attempt_id)
    if attempt is None or not attempt.for_other:
        abort(404)
    try:
        account_services.save_family_member(db.session, current_user, attempt.pensioner)
    except InvalidInput as refused:
        db.session.rollback()
        flash(_(refused.message), "error")
    else:
        db.session.commit()
        flash(_("%(name)s has been added to your family members.", name=attempt.pensioner.name), "success")
    return redirect(url_for("account.home"))
