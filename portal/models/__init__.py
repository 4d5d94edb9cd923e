"""Typed SQLAlchemy 2.x models. Import every model module here so Alembic sees all tables."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.campaigns import Campaign
from portal.models.people import Account, StaffRole, StaffUser
from portal.models.registry import Pensioner, PensionerStatus, ReferenceFace, Unit

__all__ = [
    "Account",
    "AuditEvent",
    "Base",
    "Campaign",
    "Pensioner",
    "PensionerStatus",
    "ReferenceFace",
    "StaffRole",
    "StaffUser",
    "Unit",
]
