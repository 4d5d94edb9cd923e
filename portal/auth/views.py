"""Getting in: registration (注册), sign-in (登录) by password or text message code, forgotten passwords.

Each journey keeps its progress in the signed session cookie and writes to the database only at its
last step, so abandoning a journey half-way leaves nothing behind.
"""

from __future__ import annotations

import base64
import hashlib
import time
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
from flask_babel import gettext as _
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

REGISTRATION = "registration"
CODE_SIGN_IN = "code_sign_in"
PASSWORD_RESET = "password_reset"
# How long a phone proven by a code may be used to finish registering or to set a new password.
PROOF_SECONDS = 30 * 60
SIGN_IN_LIMIT = "30 per 15 minutes"


# ---- helpers shared by the journeys -------------------------------------------------------------


def _state(name: str) -> dict[str, Any]:
    return dict(session.get(name) or {})


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


def _start_with_code(flow: str, phone: str, purpose: CodePurpose, **extra: Any) -> str | None:
    """Begin a journey by texting a code; None when under way, else the reason in the person's language.

    Coming back to the first step with the same number within the minute reuses the code just sent.
    """
    state = _state(flow)
    if state.get("phone") == phone and seconds_until_resend(db.session, phone, datetime.now(UTC)):
        state.update(extra)
        session[flow] = state
        return None
    refusal = _send_code(phone, purpose)
    if refusal is None:
        session[flow] = {"phone": phone, **extra}
    return refusal


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


def _render_code_page(
    form: CodeForm | CodeSignInForm,
    phone: str,
    *,
    title: str,
    step: int,
    total: int,
    back_url: str,
    resend_url: str,
    button_text: str,
    resend_error: str | None = None,
) -> str:
    if resend_error:
        form.form_errors.append(resend_error)
    return render_template(
        "auth/enter-code.html",
        form=form,
        title=title,
        step=step,
        total=total,
        phone=phone,
        back_url=back_url,
        resend_url=resend_url,
        button_text=button_text,
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
        return "auth.register_code"
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
        phone = form.phone.data
        if find_account(db.session, phone) is not None:
            already_registered = True
            form.phone.errors.append(_("This mobile number is already registered. Sign in instead."))
        else:
            refusal = _start_with_code(REGISTRATION, phone, CodePurpose.REGISTER)
            if refusal is None:
                return redirect(url_for("auth.register_code"))
            form.phone.errors.append(refusal)
    return render_template("auth/register-phone.html", form=form, already_registered=already_registered)


@auth.route("/register/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def register_code() -> str | Response:
    state = _state(REGISTRATION)
    if not state.get("phone"):
        return redirect(url_for("auth.register"))
    form = CodeForm()
    if form.validate_on_submit() and _check_code(form, state["phone"], CodePurpose.REGISTER):
        state["verified_at"] = time.time()
        session[REGISTRATION] = state
        return redirect(url_for("auth.register_password"))
    return _registration_code_page(form, state["phone"])


def _registration_code_page(form: CodeForm, phone: str, resend_error: str | None = None) -> str:
    return _render_code_page(
        form,
        phone,
        title=_("Enter the verification code"),
        step=2,
        total=4,
        back_url=url_for("auth.register"),
        resend_url=url_for("auth.register_new_code"),
        button_text=_("Next"),
        resend_error=resend_error,
    )


@auth.post("/register/code/new")
def register_new_code() -> str | Response:
    state = _state(REGISTRATION)
    if not state.get("phone"):
        return redirect(url_for("auth.register"))
    refusal = _send_code(state["phone"], CodePurpose.REGISTER)
    if refusal:
        return _registration_code_page(CodeForm(formdata=None), state["phone"], refusal)
    return redirect(url_for("auth.register_code"))


@auth.route("/register/password", methods=["GET", "POST"])
def register_password() -> str | Response:
    state = _state(REGISTRATION)
    if not _proven(state):
        return redirect(url_for(_registration_gap(state) or "auth.register"))
    form = RegistrationPasswordForm()
    if form.validate_on_submit():
        state["password"] = _sealer().encrypt(hash_password(form.password.data).encode()).decode()
        state["terms_version"] = current_app.config["TERMS_VERSION"]
        state["terms_agreed_at"] = time.time()
        session[REGISTRATION] = state
        return redirect(url_for("auth.register_details"))
    return render_template("auth/register-password.html", form=form)


@auth.route("/register/details", methods=["GET", "POST"])
def register_details() -> str | Response:
    state = _state(REGISTRATION)
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
    form = PhoneForm()
    if form.validate_on_submit():
        phone = form.phone.data
        if find_account(db.session, phone) is None:
            form.phone.errors.append(_(NoSuchAccount().message))
        else:
            refusal = _start_with_code(
                CODE_SIGN_IN, phone, CodePurpose.SIGN_IN, next=request.args.get("next")
            )
            if refusal is None:
                return redirect(url_for("auth.sign_in_with_code"))
            form.phone.errors.append(refusal)
    return render_template("auth/sign-in-by-text.html", form=form)


@auth.route("/sign-in/text-code/enter", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in_with_code() -> str | Response:
    state = _state(CODE_SIGN_IN)
    if not state.get("phone"):
        return redirect(url_for("auth.sign_in_by_text"))
    form = CodeSignInForm()
    if form.validate_on_submit() and _check_code(form, state["phone"], CodePurpose.SIGN_IN):
        account = find_account(db.session, state["phone"])
        if account is not None:
            destination = same_site_path(state.get("next"), url_for("account.home"))
            session_timeout.sign_in(account, remember=form.remember.data)
            return redirect(destination)
        form.code.errors.append(_(NoSuchAccount().message))
    return _sign_in_code_page(form, state["phone"])


def _sign_in_code_page(form: CodeSignInForm, phone: str, resend_error: str | None = None) -> str:
    return _render_code_page(
        form,
        phone,
        title=_("Enter the verification code"),
        step=2,
        total=2,
        back_url=url_for("auth.sign_in_by_text"),
        resend_url=url_for("auth.sign_in_new_code"),
        button_text=_("Sign in"),
        resend_error=resend_error,
    )


@auth.post("/sign-in/text-code/new")
def sign_in_new_code() -> str | Response:
    state = _state(CODE_SIGN_IN)
    if not state.get("phone"):
        return redirect(url_for("auth.sign_in_by_text"))
    refusal = _send_code(state["phone"], CodePurpose.SIGN_IN)
    if refusal:
        return _sign_in_code_page(CodeSignInForm(formdata=None), state["phone"], refusal)
    return redirect(url_for("auth.sign_in_with_code"))


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
    form = PhoneForm()
    if form.validate_on_submit():
        phone = form.phone.data
        if find_account(db.session, phone) is None:
            form.phone.errors.append(_(NoSuchAccount().message))
        else:
            refusal = _start_with_code(PASSWORD_RESET, phone, CodePurpose.RESET_PASSWORD)
            if refusal is None:
                return redirect(url_for("auth.forgot_password_code"))
            form.phone.errors.append(refusal)
    return render_template("auth/forgot-password.html", form=form)


@auth.route("/forgot-password/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def forgot_password_code() -> str | Response:
    state = _state(PASSWORD_RESET)
    if not state.get("phone"):
        return redirect(url_for("auth.forgot_password"))
    form = CodeForm()
    if form.validate_on_submit() and _check_code(form, state["phone"], CodePurpose.RESET_PASSWORD):
        state["verified_at"] = time.time()
        session[PASSWORD_RESET] = state
        return redirect(url_for("auth.new_password"))
    return _reset_code_page(form, state["phone"])


def _reset_code_page(form: CodeForm, phone: str, resend_error: str | None = None) -> str:
    return _render_code_page(
        form,
        phone,
        title=_("Enter the verification code"),
        step=2,
        total=3,
        back_url=url_for("auth.forgot_password"),
        resend_url=url_for("auth.forgot_password_new_code"),
        button_text=_("Next"),
        resend_error=resend_error,
    )


@auth.post("/forgot-password/code/new")
def forgot_password_new_code() -> str | Response:
    state = _state(PASSWORD_RESET)
    if not state.get("phone"):
        return redirect(url_for("auth.forgot_password"))
    refusal = _send_code(state["phone"], CodePurpose.RESET_PASSWORD)
    if refusal:
        return _reset_code_page(CodeForm(formdata=None), state["phone"], refusal)
    return redirect(url_for("auth.forgot_password_code"))


@auth.route("/forgot-password/new-password", methods=["GET", "POST"])
def new_password() -> str | Response:
    state = _state(PASSWORD_RESET)
    if not _proven(state):
        return redirect(
            url_for("auth.forgot_password_code" if state.get("phone") else "auth.forgot_password")
        )
    account = find_account(db.session, state["phone"])
    if account is None:
        session.pop(PASSWORD_RESET, None)
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
        session.pop(PASSWORD_RESET, None)
        flash(_("Your password has been changed. Sign in with your new password."), "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/new-password.html", form=form)


@auth.app_template_global()
def account_signed_in() -> bool:
    """The header shows account links only to a signed-in public account (staff pages have their own)."""
    return isinstance(current_user._get_current_object(), Account)
