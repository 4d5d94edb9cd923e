"""The certifications ledger: every proof that a pensioner was alive on a date. Cycles derive from it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.registry import Pensioner, str_enum


class CertificationMethod(enum.StrEnum):
    SELF = "self"  # 本人认证: the pensioner's own account, face check
    OTHER = "other"  # 为他人认证: a helper's account, face check
    REVIEW = "review"  # staff accepted an uploaded photo or a borderline face check
    OFFLINE = "offline"  # home visit, office counter, video call, recorded by staff
    DATA = "data"  # 静默认证: evidence from another department


class Certification(Base):
    __tablename__ = "certifications"
    __table_args__ = (Index("ix_certifications_pensioner_certified_on", "pensioner_id", "certified_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    # The local date the proof counts for (an offline visit or evidence may be back-dated).
    certified_on: Mapped[date] = mapped_column(Date)
    method: Mapped[CertificationMethod] = mapped_column(str_enum(CertificationMethod))
    # Who: "account:12", "staff:3", or the evidence source ("civil-affairs.csv").
    recorded_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pensioner: Mapped[Pensioner] = relationship()
