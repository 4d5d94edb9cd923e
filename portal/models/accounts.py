"""What public accounts own besides the account row: SMS verification codes and saved family members."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.registry import Pensioner, str_enum


class CodePurpose(enum.StrEnum):
    REGISTER = "register"
    SIGN_IN = "sign_in"
    RESET_PASSWORD = "reset_password"


class VerificationCode(Base):
    """One 6-digit code texted to a phone. Only its hash is kept; the rows also count texts per day."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_phone_created_at", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ip_address: Mapped[str | None] = mapped_column(String(45))


class FamilyMember(Base):
    """A pensioner an account keeps on its home page for quick repeat certification (一部手机可以多人认证)."""

    __tablename__ = "family_members"
    __table_args__ = (
        UniqueConstraint("account_id", "pensioner_id", name="uq_family_members_account_pensioner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pensioner: Mapped[Pensioner] = relationship()
