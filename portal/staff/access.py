"""Role checks for the back office. Every staff view carries one; a test walks the URL map to prove it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, redirect, request, url_for
from flask_login import current_user

from portal.models import Pensioner, StaffRole, StaffUser

ALL_STAFF_ROLES = frozenset(StaffRole)


def staff_required(*roles: StaffRole) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    allowed = frozenset(roles) or ALL_STAFF_ROLES

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not isinstance(current_user, StaffUser):
                return redirect(url_for("staff.sign_in", next=request.full_path.rstrip("?")))
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.staff_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorator


def visible_unit_id() -> int | None:
    """Unit clerks see only their own unit; agency staff and admins see everyone."""
    return current_user.unit_id if current_user.role is StaffRole.UNIT else None


def ensure_can_see(pensioner: Pensioner | None) -> Pensioner:
    if pensioner is None:
        abort(404)
    unit_id = visible_unit_id()
    if unit_id is not None and pensioner.unit_id != unit_id:
        abort(404)
    return pensioner


def actor() -> str:
    return f"staff:{current_user.id}"
