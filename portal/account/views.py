"""The 资格认证 home of a signed-in account: my status, the people I help, and whom I certified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.forms import PersonForm
from portal.extensions import db, limiter
from portal.models import Account, Pensioner
from portal.services import accounts as account_services
from portal.services.clock import local_today
from portal.services.cycle import cycle_status, status_in_words
from portal.services.validation import InvalidInput
from portal.templating import long_date, year_month

account = Blueprint("account", __name__, url_prefix="/account")


def account_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only a signed-in public account; anyone else is sent to sign in with one."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not isinstance(current_user._get_current_object(), Account):
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


@dataclass(frozen=True)
class StatusLine:
    state: str
    words: str


def _status(pensioner: Pensioner) -> StatusLine:
    status = cycle_status(pensioner, local_today(), current_app.config["CYCLE_DAYS"])
    return StatusLine(status.state, status_in_words(status, _, long_date, year_month))


@account.get("")
@account_required
def home() -> str:
    me = account_services.own_pensioner(db.session, current_user)
    members = account_services.family_members(db.session, current_user)
    return render_template(
        "account/home.html",
        me=me,
        my_status=_status(me) if me else None,
        members=[(member, _status(member.pensioner)) for member in members],
        history=account_services.certification_history(db.session, current_user),
    )


@account.route("/family-members/add", methods=["GET", "POST"])
@account_required
@limiter.limit("30 per day", key_func=lambda: current_user.get_id(), methods=["POST"])
def add_family_member() -> str | Response:
    form = PersonForm()
    if form.validate_on_submit():
        try:
            pensioner = account_services.find_pensioner(db.session, form.real_name.data, form.id_number.data)
            account_services.save_family_member(db.session, current_user, pensioner)
        except InvalidInput as refused:
            db.session.rollback()
            form.id_number.errors.append(_(refused.message))
        else:
            db.session.commit()
            flash(_("%(name)s has been added to your family members.", name=pensioner.name), "success")
            return redirect(url_for("account.home"))
    return render_template("account/add-family-member.html", form=form)


@account.post("/family-members/<int:member_id>/remove")
@account_required
def remove_family_member(member_id: int) -> Response:
    member = account_services.remove_family_member(db.session, current_user, member_id)
    if member is None:
        abort(404)
    db.session.commit()
    flash(_("%(name)s has been removed from your family members.", name=member.pensioner.name), "success")
    return redirect(url_for("account.home"))
