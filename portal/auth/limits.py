"""Flask-Limiter's share of the SMS limits: 20 codes a day per IP address and 10 per phone.

The per-phone limit is also kept by the code records themselves (portal/services/verification_codes.py);
the limiter adds it in shared storage (Redis when RATELIMIT_STORAGE_URI says so) and is the only place
the per-IP limit lives. Only texts actually sent are counted, so mistyped numbers cost nothing.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from limits import RateLimitItem, parse

from portal.extensions import limiter

CODES_PER_IP_PER_DAY = parse("20/day")
CODES_PER_PHONE_PER_DAY = parse("10/day")


def _keys(phone: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "portal"
    address = request.remote_addr or "unknown"
    return [
        (CODES_PER_PHONE_PER_DAY, (prefix, "sms-phone", phone)),
        (CODES_PER_IP_PER_DAY, (prefix, "sms-ip", address)),
    ]


def _enabled() -> bool:
    """The limiter object is shared by every app in the process: ask this app's own setting."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def sms_refusal(phone: str) -> str | None:
    """Why no code may be texted to this phone from this address now, or None."""
    if not _enabled():
        return None
    for item, identifiers in _keys(phone):
        if not limiter.limiter.test(item, *identifiers):
            if item is CODES_PER_PHONE_PER_DAY:
                return _(
                    "We have already sent %(count)s codes to this number today. Try again tomorrow.",
                    count=item.amount,
                )
            return _(
                "Too many codes have been asked for from this network today. "
                "Try again tomorrow, or call the business line.",
            )
    return None


def count_sms(phone: str) -> None:
    if not _enabled():
        return
    for item, identifiers in _keys(phone):
        limiter.limiter.hit(item, *identifiers)
