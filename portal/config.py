"""Settings: defaults here, then instance/config.py, then PORTAL_<NAME> environment variables."""

from __future__ import annotations

import json
import os
from typing import Any


class DefaultConfig:
    # Where the database lives unless PORTAL_DATABASE_URL says otherwise: set by create_app.
    DATABASE_URL: str | None = None
    SECRET_KEY: str | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Only the signature check of the session cookie: the idle limit below is what ends a session, and
    # the cookie itself lasts until the browser closes (remember-me uses Flask-Login's own cookie).
    PERMANENT_SESSION_LIFETIME = 12 * 60 * 60
    # Signed-in people are signed out after this long without a request, warned beforehand (DESIGN.md §8).
    SESSION_IDLE_MINUTES = 20
    SESSION_WARNING_MINUTES = 18
    REMEMBER_COOKIE_DURATION = 30 * 24 * 60 * 60
    # The version of templates/public/terms.html that registration records as agreed.
    TERMS_VERSION = "2026-12"
    WTF_CSRF_TIME_LIMIT = 60 * 60
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    TIMEZONE = "Asia/Shanghai"
    SERVICE_PHONE = "0396-2693828"
    # Rolling certification cycle and its reminders (DESIGN.md §1).
    CYCLE_DAYS = 365
    REMINDER_DAYS = (30, 7, 1)
    # Face matching thresholds on the dlib distance (DESIGN.md §4).
    FACE_ACCEPT_DISTANCE = 0.50
    FACE_REVIEW_DISTANCE = 0.55
    FACE_IMAGE_MAX_BYTES = 10 * 1024 * 1024
    FACE_IMAGE_MAX_PIXELS = 40_000_000
    FACE_MIN_HEIGHT_PX = 120
    FACE_FRAMES_RETENTION_DAYS = 30
    # Fraud controls (DESIGN.md §1): face attempts per pensioner per local day, all accounts together, and
    # the different other people one account may certify in a window (service points have no cap).
    FACE_ATTEMPTS_PER_DAY = 5
    CERTIFY_OTHERS_LIMIT = 8
    CERTIFY_OTHERS_WINDOW_DAYS = 365
    # Webcam liveness sessions (docs/face-verification.md): early and late frames must be one person.
    FACE_SAME_PERSON_DISTANCE = 0.45
    # Fixes the challenge steps, e.g. "blink" or "blink,turn_left", for tests and demos; None = random.
    LIVENESS_CHALLENGES: str | None = None
    LIVENESS_MIN_FRAMES = 15
    LIVENESS_MAX_FRAMES = 180
    LIVENESS_FRAME_MAX_BYTES = 400 * 1024
    LIVENESS_FRAME_MAX_PIXELS = 1280 * 960
    # Where encrypted face images are kept; relative paths are inside the instance folder.
    IMAGE_STORE = "images"
    IMAGE_KEY_FILE = "image.key"

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    SMS_BACKEND = "outbox"
    # SMS_BACKEND = "http": texts are POSTed as JSON to this gateway (set these in instance/config.py).
    SMS_GATEWAY_URL: str | None = None
    SMS_GATEWAY_KEY: str | None = None
    SMS_GATEWAY_TIMEOUT = 5.0


def _parse(value: str) -> Any:
    """Read an environment value as JSON when it is JSON (numbers, booleans, lists), else as text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def environment_overrides(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    prefix = "PORTAL_"
    skip = {"PORTAL_INSTANCE_PATH"}
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if name.startswith(prefix) and name not in skip:
            key = name.removeprefix(prefix)
            overrides[key] = value if key in {"DATABASE_URL", "SECRET_KEY"} else _parse(value)
    return overrides
