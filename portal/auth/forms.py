"""One small form per page. Fields check their format here; the services decide everything else."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, StopValidation

from portal.services.accounts import check_new_password, normalise_name
from portal.services.clock import local_today
from portal.services.validation import InvalidInput, normalise_id_number, normalise_phone
from portal.services.verification_codes import CodeRefused, normalise_code


def tidied_by(normalise: Callable[[str], str]) -> Callable[[FlaskForm, Field], None]:
    """A validator that stores the tidied value, or shows the service's reason in the person's language.

    On failure the value stays as typed, so the person sees what they entered beside the message.
    """

    def validate(_form: FlaskForm, field: Field) -> None:
        try:
            field.data = normalise(field.data or "")
        except (InvalidInput, CodeRefused) as refused:
            params = getattr(refused, "params", None) or {}
            raise StopValidation(_(refused.message, **params)) from None

    return validate


def _id_number(value: str) -> str:
    return normalise_id_number(value, today=local_today())


def phone_field() -> TelField:
    return TelField(_l("Mobile number"), validators=[tidied_by(normalise_phone)])


def code_field() -> StringField:
    return StringField(_l("Verification code"), validators=[tidied_by(normalise_code)])


def remember_field() -> BooleanField:
    return BooleanField(_l("Keep me signed in on this device"))


class PhoneForm(FlaskForm):
    phone = phone_field()


class CodeForm(FlaskForm):
    code = code_field()


class CodeSignInForm(FlaskForm):
    code = code_field()
    remember = remember_field()


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[tidied_by(check_new_password)])
    confirm_password = PasswordField(_l("Confirm password"))

    def validate_confirm_password(self, field: Field) -> None:
        if not field.data:
            raise StopValidation(_("Enter the password again to confirm it"))
        if self.password.data and field.data != self.password.data:
            raise StopValidation(_("The passwords do not match"))


class RegistrationPasswordForm(NewPasswordForm):
    consent = BooleanField(
        _l("I have read and agree to the terms of service and the privacy notice"),
        validators=[DataRequired(_l("Tick the box to agree to the terms of service and the privacy notice"))],
    )


class PersonForm(FlaskForm):
    """姓名 and 身份证号码: my own at registration, or someone I help."""

    real_name = StringField(_l("Name"), validators=[tidied_by(normalise_name)])
    id_number = StringField(_l("ID card number"), validators=[tidied_by(_id_number)])


class SignInForm(FlaskForm):
    phone = phone_field()
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])
    remember = remember_field()
