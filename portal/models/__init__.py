"""Typed SQLAlchemy 2.x models. Import every model module here so Alembic sees all tables."""

from portal.models.accounts import CodePurpose, FamilyMember, VerificationCode
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.campaigns import Campaign
from portal.models.cycle import (
    Certification,
    CertificationMethod,
    CycleNotice,
    DailyRun,
    DeathRecord,
    OfflineChannel,
    Suspension,
)
from portal.models.payroll import Payment, PaymentKind
from portal.models.people import Account, StaffRole, StaffUser
from portal.models.registry import Pensioner, PensionerStatus, ReferenceFace, Unit
from portal.models.sms import SmsMessage

__all__ = [
    "Account",
    "AuditEvent",
    "Base",
    "Campaign",
    "Certification",
    "CertificationMethod",
    "CodePurpose",
    "CycleNotice",
    "DailyRun",
    "DeathRecord",
    "FamilyMember",
    "OfflineChannel",
    "Payment",
    "PaymentKind",
    "Pensioner",
    "PensionerStatus",
    "ReferenceFace",
    "SmsMessage",
    "StaffRole",
    "StaffUser",
    "Suspension",
    "Unit",
    "VerificationCode",
]
