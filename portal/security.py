"""Security headers for every response, set in one place."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, g, request


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def allows_camera(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as a capture page: only these may ask for the camera."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.allows_camera = True
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        nonce = csp_nonce()
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        camera = "(self)" if g.get("allows_camera") else "()"
        response.headers["Permissions-Policy"] = f"camera={camera}, microphone=(), geolocation=()"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith("/static/"):
            # Pages may show personal data: never keep them in a shared or back-button cache.
            response.headers["Cache-Control"] = "no-store"
        return response
