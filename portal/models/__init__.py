"""Typed SQLAlchemy 2.x models. Import every model module here so Alembic sees all tables."""

from portal.models.accounts import CodePurpose, FamilyMember, VerificationCode
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.campaigns import Campaign
from portal.models.certify import (
    Attempt,
    AttemptFrame,
    AttemptMode,
    AttemptResult,
    CertificationChallenge,
    ReviewCase,
    ReviewReason,
    ReviewStatus,
)
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
    "Attempt",
    "AttemptFrame",
    "AttemptMode",
    "AttemptResult",
    "AuditEvent",
    "Base",
    "Campaign",
    "Certification",
    "CertificationChallenge",
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
    "ReviewCase",
    "ReviewReason",
    "ReviewStatus",
    "SmsMessage",
    "StaffRole",
    "StaffUser",
    "Suspension",
    "Unit",
    "VerificationCode",
]
