"""The certifications ledger: every proof that a pensioner was alive on a date. Cycles derive from it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.registry import Pensioner, str_enum


class CertificationMethod(enum.StrEnum):
    SELF = "self"  # 本人认证: the pensioner's own account, face check
    OTHER = "other"  # 为他人认证: a helper's account, face check
    REVIEW = "review"  # staff accepted an uploaded photo or a borderline face check
    OFFLINE = "offline"  # home visit, office counter, video call, recorded by staff
    DATA = "data"  # 静默认证: evidence from another department


class OfflineChannel(enum.StrEnum):
    """How staff saw the person for an offline certification."""

    HOME_VISIT = "home_visit"  # 上门认证
    COUNTER = "counter"  # 窗口认证
    VIDEO = "video"  # 视频认证
    OTHER = "other"


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
    # Only for offline certifications.
    channel: Mapped[OfflineChannel | None] = mapped_column(str_enum(OfflineChannel))

    pensioner: Mapped[Pensioner] = relationship()


class Suspension(Base):
    """One period without payment, from the daily job's suspension to the success that ended it.

    Payroll reads these, not the pensioner's current status, so a month is judged by the history.
    """

    __tablename__ = "suspensions"
    __table_args__ = (UniqueConstraint("pensioner_id", "suspended_on", name="uq_suspensions_pensioner_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    suspended_on: Mapped[date] = mapped_column(Date)
    # The processing date of the success that ended it, and the first month paid again (次月).
    resumed_on: Mapped[date | None] = mapped_column(Date)
    resume_from: Mapped[date | None] = mapped_column(Date, index=True)


class CycleNotice(Base):
    """A text the daily job sent about one cycle (a reminder or the suspension): at most once per cycle."""

    __tablename__ = "cycle_notices"
    __table_args__ = (
        UniqueConstraint("pensioner_id", "cycle_start", "kind", name="uq_cycle_notices_once_per_cycle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    cycle_start: Mapped[date] = mapped_column(Date)
    # "reminder_30", "reminder_7", "reminder_1", "suspended"
    kind: Mapped[str] = mapped_column(String(16))
    sent_on: Mapped[date] = mapped_column(Date, index=True)


class DailyRun(Base):
    """One run of the daily job; a date runs once, and never before a date already run."""

    __tablename__ = "daily_runs"

    run_on: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended: Mapped[int] = mapped_column(Integer, default=0)
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    texts: Mapped[int] = mapped_column(Integer, default=0)
    # Counts of the other daily tasks (e.g. expired face frames deleted), by task name.
    tasks: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class DeathRecord(Base):
    """A death reported by civil affairs; the pensioner is terminated from that date."""

    __tablename__ = "death_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), unique=True)
    died_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The daily job selects pensioners by status and a range of cycle starts (overdue, due for a reminder).
Index("ix_pensioners_status_cycle_start", Pensioner.status, Pensioner.cycle_start)
