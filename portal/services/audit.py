from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.models import AuditEvent


def record_audit(
    session: Session,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: int | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session; it is committed with the work it describes."""
    event = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        ip_address=ip_address,
        details=details,
    )
    session.add(event)
    return event
