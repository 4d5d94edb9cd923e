from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired


class StaffSignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(_l("Enter your username"))])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password"))])


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[InputRequired(_l("Enter the 6-digit code from your authenticator app"))],
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name, ID card number or mobile number"))


class OfflineCertificationForm(FlaskForm):
    certified_on = StringField(
        _l("Date the person was seen"), validators=[InputRequired(_l("Enter the date the person was seen"))]
    )
    channel = RadioField(
        _l("How the person was seen"),
        choices=[
            SelectChoice("home_visit", _l("Home visit")),
            SelectChoice("counter", _l("At the office counter")),
            SelectChoice("video", _l("Video call")),
            SelectChoice("other", _l("Another way (say how in the note)")),
        ],
        validators=[InputRequired(_l("Choose how the person was seen"))],
    )
    note = TextAreaField(
        _l("Note"), validators=[InputRequired(_l("Enter a note saying who saw the person, where and how"))]
    )
