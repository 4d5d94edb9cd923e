"""The certification journey's forms: one question each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired


class ChooseForm(FlaskForm):
    who = RadioField(
        _l("Who are you certifying?"),
        choices=[
            SelectChoice("self", _l("Myself")),
            SelectChoice("other", _l("Someone else, such as a family member")),
        ],
        validators=[InputRequired(_l("Choose who you are certifying"))],
    )


class ChoosePersonForm(FlaskForm):
    """Saved family members, then "someone else"; the view fills in the choices."""

    person = RadioField(
        _l("Who are you certifying?"), validators=[InputRequired(_l("Choose who you are certifying"))]
    )


class ConsentForm(FlaskForm):
    agree = BooleanField(
        _l("I agree"), validators=[DataRequired(_l("Tick the box to agree to the face check"))]
    )


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo"), validators=[FileRequired(_l("Choose a photo to send"))])
