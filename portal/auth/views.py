"""Getting in: registration (注册), sign-in (登录) by password or text message code, forgotten passwords.

Each journey keeps its progress in the signed session cookie and writes to the database only at its
last step, so abandoning a journey half-way leaves nothing behind.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.auth import session_timeout
from portal.auth.forms import (
    CodeForm,
    CodeSignInForm,
    NewPasswordForm,
    PersonForm,
    PhoneForm,
    RegistrationPasswordForm,
    SignInForm,
)
from portal.auth.limits import count_sms, sms_refusal
from portal.extensions import db, limiter
from portal.models import Account, CodePurpose
from portal.services.accounts import (
    NoSuchAccount,
    PhoneAlreadyRegistered,
    SignInRefused,
    find_account,
    hash_password,
    register_account,
    set_password,
    sign_in_with_password,
)
from portal.services.sms import backend_from_config, send_sms
from portal.services.verification_codes import (
    CodeRefused,
    check_code,
    issue_code,
    seconds_until_resend,
)
from portal.urls import same_site_path

auth = Blueprint("auth", __name__)

# How long a phone proven by a code may be used to finish registering or to set a new password.
PROOF_SECONDS = 30 * 60
SIGN_IN_LIMIT = "30 per 15 minutes"


# ---- helpers shared by the journeys -------------------------------------------------------------


def _proven(state: dict[str, Any]) -> bool:
    return bool(state.get("verified_at")) and time.time() - state["verified_at"] < PROOF_SECONDS


@auth.app_template_filter("masked_phone")
def masked_phone(phone: str) -> str:
    """138****5678: enough for a person to recognise their own number on screen."""
    return f"{phone[:3]}****{phone[-4:]}"


def _code_text(code: str) -> str:
    return _(
        "Pension certification: your verification code is %(code)s. "
        "It is valid for 5 minutes. Do not tell it to anyone.",
        code=code,
    )


def _send_code(phone: str, purpose: CodePurpose) -> str | None:
    """Text a new code; returns the reason in the person's language if none could be sent."""
    refusal = sms_refusal(phone)
    if refusal:
        return refusal
    try:
        issue_code(
            db.session,
            backend_from_config(current_app.config),
            phone,
            purpose,
            _code_text,
            ip_address=request.remote_addr,
        )
    except CodeRefused as refused:
        # Keeps the record of a text the gateway failed to send; otherwise there is nothing to keep.
        db.session.commit()
        return _(refused.message, **refused.params)
    db.session.commit()
    count_sms(phone)
    return None


@dataclass(frozen=True)
class CodeJourney:
    """A journey that begins by proving a mobile number with a texted code: its progress and its pages.

    Its phone page calls `_start_code_journey`; its code page and its 获取新验证码 button are two views
    that call `_code_page_view` and `_new_code_view`.
    """

    session_key: str
    purpose: CodePurpose
    step: int
    total: int
    phone_endpoint: str
    code_endpoint: str
    new_code_endpoint: str
    # Where a proven number goes next; None where the code view itself acts on the proof (sign-in).
    next_endpoint: str | None
    button_text: LazyString
    code_form: type[CodeForm] | type[CodeSignInForm] = CodeForm

    def state(self) -> dict[str, Any]:
        return dict(session.get(self.session_key) or {})

    def save(self, state: dict[str, Any]) -> None:
        session[self.session_key] = state

    def forget(self) -> None:
        session.pop(self.session_key, None)


REGISTRATION = CodeJourney(
    session_key="registration",
    purpose=CodePurpose.REGISTER,
    step=2,
    total=4,
    phone_endpoint="auth.register",
    code_endpoint="auth.register_code",
    new_code_endpoint="auth.register_new_code",
    next_endpoint="auth.register_password",
    button_text=_l("Next"),
)
CODE_SIGN_IN = CodeJourney(
    session_key="code_sign_in",
    purpose=CodePurpose.SIGN_IN,
    step=2,
    total=2,
    phone_endpoint="auth.sign_in_by_text",
    code_endpoint="auth.sign_in_with_code",
    new_code_endpoint="auth.sign_in_new_code",
    next_endpoint=None,
    button_text=_l("Sign in"),
    code_form=CodeSignInForm,
)
PASSWORD_RESET = CodeJourney(
    session_key="password_reset",
    purpose=CodePurpose.RESET_PASSWORD,
    step=2,
    total=3,
    phone_endpoint="auth.forgot_password",
    code_endpoint="auth.forgot_password_code",
    new_code_endpoint="auth.forgot_password_new_code",
    next_endpoint="auth.new_password",
    button_text=_l("Next"),
)


def _start_code_journey(journey: CodeJourney, form: PhoneForm, **extra: Any) -> Response | None:
    """Text a code to the number in `form` and go to the code page; None, with the reason beside the
    field, when no code could be sent.

    Coming back to the first step with the same number within the minute reuses the code just sent.
    """
    phone = form.phone.data
    state = journey.state()
    if state.get("phone") == phone and seconds_until_resend(db.session, phone, datetime.now(UTC)):
        state.update(extra)
    else:
        refusal = _send_code(phone, journey.purpose)
        if refusal:
            form.phone.errors.append(refusal)
            return None
        state = {"phone": phone, **extra}
    journey.save(state)
    return redirect(url_for(journey.code_endpoint))


def _account_phone_page(journey: CodeJourney, template: str, **extra: Any) -> str | Response:
    """The first step of a journey for an existing account: a number without one gets no code.

    `template` extends auth/account-phone.html, which shows step 1 of the journey's steps.
    """
    form = PhoneForm()
    if form.validate_on_submit():
        if find_account(db.session, form.phone.data) is None:
            form.phone.errors.append(_(NoSuchAccount().message))
        elif (started := _start_code_journey(journey, form, **extra)) is not None:
            return started
    return render_template(template, form=form, total=journey.total)


# Acts on a proven number, given the journey's state and the code form: an answer, or None to show the
# code page again (with whatever it added to the form's errors).
ProofHandler = Callable[[dict[str, Any], Any], Response | None]


def _code_page_view(journey: CodeJourney, when_proven: ProofHandler | None = None) -> str | Response:
    """The code page. By default a right code marks the number proven and goes to the next page."""
    state = journey.state()
    if not state.get("phone"):
        return redirect(url_for(journey.phone_endpoint))
    form = journey.code_form()
    if form.validate_on_submit() and _check_code(form, state["phone"], journey.purpose):
        if when_proven is None:
            assert journey.next_endpoint is not None
            state["verified_at"] = time.time()
            journey.save(state)
            return redirect(url_for(journey.next_endpoint))
        answer = when_proven(state, form)
        if answer is not None:
            return answer
    return _code_page(journey, form, state["phone"])


def _new_code_view(journey: CodeJourney) -> str | Response:
    """获取新验证码: back to the code page, or the code page again with the reason none was sent."""
    state = journey.state()
    if not state.get("phone"):
        return redirect(url_for(journey.phone_endpoint))
    refusal = _send_code(state["phone"], journey.purpose)
    if refusal:
        return _code_page(journey, journey.code_form(formdata=None), state["phone"], refusal)
    return redirect(url_for(journey.code_endpoint))


def _check_code(form: CodeForm | CodeSignInForm, phone: str, purpose: CodePurpose) -> bool:
    """Check the typed code; a refusal goes beside the field. Wrong tries are committed either way."""
    try:
        check_code(db.session, phone, purpose, form.code.data or "")
    except CodeRefused as refused:
        db.session.commit()
        form.code.errors.append(_(refused.message, **refused.params))
        return False
    db.session.commit()
    return True


def _code_page(
    journey: CodeJourney, form: CodeForm | CodeSignInForm, phone: str, resend_error: str | None = None
) -> str:
    if resend_error:
        form.form_errors.append(resend_error)
    return render_template(
        "auth/enter-code.html",
        form=form,
        title=_("Enter the verification code"),
        step=journey.step,
        total=journey.total,
        phone=phone,
        back_url=url_for(journey.phone_endpoint),
        resend_url=url_for(journey.new_code_endpoint),
        button_text=str(journey.button_text),
        resend_error=resend_error,
        seconds_until_resend=seconds_until_resend(db.session, phone, datetime.now(UTC)),
    )


def _sealer() -> Fernet:
    """Encrypts the draft password hash kept in the session cookie, which is signed but readable."""
    digest = hashlib.sha256(b"registration-draft:" + current_app.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _next_page(default_endpoint: str = "account.home") -> str:
    return same_site_path(request.args.get("next"), url_for(default_endpoint))


# ---- registration: 手机号码 → 验证码 → 密码 → 姓名 and 身份证号码 -----------------------------------------


def _registration_gap(state: dict[str, Any]) -> str | None:
    """The first registration step still to do, as an endpoint, or None when all are done."""
    if not state.get("phone"):
        return "auth.register"
    if not _proven(state):
        return REGISTRATION.code_endpoint
    if not state.get("password") or not state.get("terms_version"):
        return "auth.register_password"
    return None


@auth.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("account.home"))
    form = PhoneForm()
    already_registered = False
    if form.validate_on_submit():
        if find_account(db.session, form.phone.data) is not None:
            already_registered = True
            form.phone.errors.append(_("This mobile number is already registered. Sign in instead."))
        elif (started := _start_code_journey(REGISTRATION, form)) is not None:
            return started
    return render_template("auth/register-phone.html", form=form, already_registered=already_registered)


@auth.route("/register/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def register_code() -> str | Response:
    return _code_page_view(REGISTRATION)


@auth.post("/register/code/new")
def register_new_code() -> str | Response:
    return _new_code_view(REGISTRATION)


@auth.route("/register/password", methods=["GET", "POST"])
def register_password() -> str | Response:
    state = REGISTRATION.state()
    if not _proven(state):
        return redirect(url_for(_registration_gap(state) or "auth.register"))
    form = RegistrationPasswordForm()
    if form.validate_on_submit():
        state["password"] = _sealer().encrypt(hash_password(form.password.data).encode()).decode()
        state["terms_version"] = current_app.config["TERMS_VERSION"]
        state["terms_agreed_at"] = time.time()
        REGISTRATION.save(state)
        return redirect(url_for("auth.register_details"))
    return render_template("auth/register-password.html", form=form)


@auth.route("/register/details", methods=["GET", "POST"])
def register_details() -> str | Response:
    state = REGISTRATION.state()
    if current_user.is_authenticated and not state:
        # The same form sent twice: the first one already created the account and signed in.
        return redirect(url_for("auth.registration_complete"))
    gap = _registration_gap(state)
    if gap:
        return redirect(url_for(gap))
    try:
        password_hash = _sealer().decrypt(state["password"].encode()).decode()
    except InvalidToken:
        return redirect(url_for("auth.register_password"))
    form = PersonForm()
    if form.validate_on_submit():
        try:
            account = register_account(
                db.session,
                phone=state["phone"],
                password_hash=password_hash,
                real_name=form.real_name.data,
                id_number=form.id_number.data,
                terms_version=state["terms_version"],
                terms_agreed_at=datetime.fromtimestamp(state["terms_agreed_at"], UTC),
            )
            db.session.commit()
        except PhoneAlreadyRegistered as taken:
            db.session.rollback()
            if taken.account.password_hash != password_hash:
                form.form_errors.append(
                    _("This mobile number has just been registered. Sign in instead, or start again.")
                )
                return render_template("auth/register-details.html", form=form, already_registered=True)
            # The same form sent twice at once: the other request created this very account.
            account = taken.account
        session_timeout.sign_in(account, remember=False)
        return redirect(url_for("auth.registration_complete"))
    return render_template("auth/register-details.html", form=form, already_registered=False)


@auth.get("/register/done")
@login_required
def registration_complete() -> str:
    return render_template("auth/registration-complete.html")


# ---- sign-in by password ------------------------------------------------------------------------------


@auth.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_next_page())
    form = SignInForm()
    session_ended = bool(session.pop(session_timeout.ENDED, False))
    if form.validate_on_submit():
        try:
            account = sign_in_with_password(db.session, form.phone.data, form.password.data)
        except SignInRefused as refused:
            db.session.commit()
            field = form.phone if isinstance(refused, NoSuchAccount) else form.password
            field.errors.append(_(refused.message, **refused.params))
        else:
            db.session.commit()
            destination = _next_page()
            session_timeout.sign_in(account, remember=form.remember.data)
            return redirect(destination)
    return render_template("auth/sign-in.html", form=form, session_ended=session_ended)


# ---- sign-in by text message code ---------------------------------------------------------------------


@auth.route("/sign-in/text-code", methods=["GET", "POST"])
def sign_in_by_text() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_next_page())
    return _account_phone_page(CODE_SIGN_IN, "auth/sign-in-by-text.html", next=request.args.get("next"))


@auth.route("/sign-in/text-code/enter", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in_with_code() -> str | Response:
    return _code_page_view(CODE_SIGN_IN, _sign_in_with_proven_phone)


def _sign_in_with_proven_phone(state: dict[str, Any], form: CodeSignInForm) -> Response | None:
    account = find_account(db.session, state["phone"])
    if account is None:
        form.code.errors.append(_(NoSuchAccount().message))
        return None
    destination = same_site_path(state.get("next"), url_for("account.home"))
    session_timeout.sign_in(account, remember=form.remember.data)
    return redirect(destination)


@auth.post("/sign-in/text-code/new")
def sign_in_new_code() -> str | Response:
    return _new_code_view(CODE_SIGN_IN)


# ---- signing out and staying signed in ------------------------------------------------------------


@auth.post("/sign-out")
def sign_out() -> Response:
    session_timeout.sign_out()
    return redirect(url_for("auth.signed_out"))


@auth.get("/signed-out")
def signed_out() -> str:
    return render_template("auth/signed-out.html")


@auth.post("/session/extend")
@login_required
def extend_session() -> Response | tuple[str, int]:
    """Any request counts as activity; this one exists for the warning dialog's 继续使用 button."""
    if request.accept_mimetypes.best == "application/json":
        return "", 204
    return redirect(same_site_path(request.form.get("next"), url_for("account.home")))


# ---- forgotten password: 手机号码 → 验证码 → new password --------------------------------------------


@auth.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> str | Response:
    return _account_phone_page(PASSWORD_RESET, "auth/forgot-password.html")


@auth.route("/forgot-password/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def forgot_password_code() -> str | Response:
    return _code_page_view(PASSWORD_RESET)


@auth.post("/forgot-password/code/new")
def forgot_password_new_code() -> str | Response:
    return _new_code_view(PASSWORD_RESET)


@auth.route("/forgot-password/new-password", methods=["GET", "POST"])
def new_password() -> str | Response:
    state = PASSWORD_RESET.state()
    if not _proven(state):
        return redirect(
            url_for(PASSWORD_RESET.code_endpoint if state.get("phone") else PASSWORD_RESET.phone_endpoint)
        )
    account = find_account(db.session, state["phone"])
    if account is None:
        PASSWORD_RESET.forget()
        return redirect(url_for("auth.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        set_password(db.session, account, hash_password(form.password.data))
        send_sms(
            db.session,
            backend_from_config(current_app.config),
            account.phone,
            _(
                "Pension certification: the password of your account was changed. "
                "If you did not change it, call %(phone)s.",
                phone=current_app.config["SERVICE_PHONE"],
            ),
            "password_changed",
        )
        db.session.commit()
        PASSWORD_RESET.forget()
        flash(_("Your password has been changed. Sign in with your new password."), "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/new-password.html", form=form)


@auth.app_template_global()
def account_signed_in() -> bool:
    """The header shows account links only to a signed-in public account (staff pages have their own)."""
    return isinstance(current_user._get_current_object(), Account)
