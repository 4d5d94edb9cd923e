"""Signing in and out, and the idle limit: 20 minutes without a request signs a person out (DESIGN.md §8).

The time of the last request lives in the signed session cookie, so every worker and server agrees.
Pages for signed-in people carry a warning dialog (static/js/session-timeout.js) two minutes before the
end, with a button that extends the session; without JavaScript the session simply lasts 20 idle
minutes and the sign-in page then says why the person was signed out. Someone who ticked "remember
me" chose to stay signed in on that device, so no idle limit applies to them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user, user_loaded_from_cookie
from werkzeug.wrappers import Response

from portal.models import Account, StaffUser

LAST_SEEN = "last_seen"
REMEMBERED = "remembered"
ENDED = "session_ended"
# Choices about the page itself survive signing in and out. So does the CSRF token, so that a form sent
# twice (the second time after the first signed the person in) is not refused as timed out; the session
# cookie is signed, so nobody can plant a token in it beforehand.
KEPT_ACROSS_SIGN_IN = ("language", "large_text", "csrf_token")


def _fresh_session() -> None:
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)


def sign_in(user: Account | StaffUser, remember: bool = False) -> None:
    """Start a new session for the user; nothing from before signing in carries over but page choices."""
    _fresh_session()
    login_user(user, remember=remember)
    session[LAST_SEEN] = time.time()
    session[REMEMBERED] = remember


def sign_out() -> None:
    logout_user()
    _fresh_session()


def idle_seconds() -> int:
    return int(current_app.config["SESSION_IDLE_MINUTES"]) * 60


def warning_settings() -> dict[str, Any] | None:
    """What the warning dialog needs on this page, or None when no idle limit applies."""
    if not current_user.is_authenticated or session.get(REMEMBERED):
        return None
    idle_minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
    warning_minutes = int(current_app.config["SESSION_WARNING_MINUTES"])
    return {
        "warn_after_seconds": warning_minutes * 60,
        "sign_out_after_seconds": idle_minutes * 60,
        "idle_minutes": warning_minutes,
        "minutes_left": idle_minutes - warning_minutes,
    }


def end_idle_sessions() -> Response | None:
    if request.endpoint == "static" or not current_user.is_authenticated or session.get(REMEMBERED):
        return None
    now = time.time()
    last_seen = session.get(LAST_SEEN)
    if last_seen is not None and now - last_seen > idle_seconds():
        is_staff = current_user.get_id().startswith("staff:")
        sign_out()
        session[ENDED] = True
        return redirect(url_for("staff.sign_in" if is_staff else "auth.sign_in"))
    session[LAST_SEEN] = now
    return None


def _remembered(_app: Flask, user: Any = None, **_extra: Any) -> None:
    """Back after a browser restart through the remember-me cookie: still no idle limit."""
    session[REMEMBERED] = True
    session[LAST_SEEN] = time.time()


def init_app(app: Flask) -> None:
    app.before_request(end_idle_sessions)
    user_loaded_from_cookie.connect(_remembered, app)

    @app.context_processor
    def session_timeout_context() -> dict[str, Any]:
        return {"session_warning": warning_settings()}
