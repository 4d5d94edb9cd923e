"""Loads the signed-in user for Flask-Login: ids are "account:N" or "staff:N"."""

from __future__ import annotations

from flask import Flask

from portal.extensions import db, login_manager
from portal.models import Account, StaffUser

USER_TABLES = {"account": Account, "staff": StaffUser}


@login_manager.user_loader
def load_user(user_id: str) -> Account | StaffUser | None:
    kind, _, number = user_id.partition(":")
    model = USER_TABLES.get(kind)
    if model is None or not number.isdigit():
        return None
    user = db.session.get(model, int(number))
    return user if user is not None and user.is_active else None


def init_app(app: Flask) -> None:
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.sign_in"
    # The sign-in page explains itself; a flashed "please log in" would only pile up unread.
    login_manager.login_message = ""
