"""The pension registry: units (employers) and the pensioners they report."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Enum, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, utcnow


def str_enum(enum_class: type[enum.Enum], length: int = 16) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the member values."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class PensionerStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Unit(Timestamped, Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(32))

    pensioners: Mapped[list[Pensioner]] = relationship(back_populates="unit")


class Pensioner(Timestamped, Base):
    __tablename__ = "pensioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(11))
    # 待遇确认日期: the first cycle starts here for someone never certified.
    benefit_start: Mapped[date] = mapped_column(Date)
    monthly_amount_fen: Mapped[int] = mapped_column(Integer)
    beneficiary_type: Mapped[str] = mapped_column(String(32), default="retiree")
    status: Mapped[PensionerStatus] = mapped_column(
        str_enum(PensionerStatus), default=PensionerStatus.ACTIVE, index=True
    )
    cycle_start: Mapped[date] = mapped_column(Date, index=True)
    suspended_on: Mapped[date | None] = mapped_column(Date)
    resume_from: Mapped[date | None] = mapped_column(Date)
    terminated_on: Mapped[date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship(back_populates="pensioners")
    reference_face: Mapped[ReferenceFace | None] = relationship(
        back_populates="pensioner", cascade="all, delete-orphan"
    )


class ReferenceFace(Base):
    """The photo on file: the encrypted image lives in the image store, its encoding here."""

    __tablename__ = "reference_faces"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), unique=True)
    image_key: Mapped[str] = mapped_column(String(100))
    encoding: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(32))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    enrolled_by: Mapped[str] = mapped_column(String(100))

    pensioner: Mapped[Pensioner] = relationship(back_populates="reference_face")
