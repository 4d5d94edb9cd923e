"""Who signs in: public accounts (pensioners and helpers) and back-office staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped
from portal.models.registry import Unit, str_enum


class SignsIn:
    """What Flask-Login asks of a signed-in user; the id says which table the user lives in."""

    is_authenticated = True
    is_anonymous = False
    is_active: bool | Mapped[bool] = True


class Account(SignsIn, Timestamped, Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    real_name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    # 服务网点: a community service point may certify any number of people, and is audited instead.
    is_service_point: Mapped[bool] = mapped_column(Boolean, default=False)
    terms_version: Mapped[str | None] = mapped_column(String(32))
    terms_agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Wrong passwords in a row; the 5th locks password sign-in (not SMS sign-in) for 15 minutes.
    failed_password_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def get_id(self) -> str:
        return f"account:{self.id}"


class StaffRole(enum.StrEnum):
    STAFF = "staff"
    UNIT = "unit"
    ADMIN = "admin"


class StaffUser(SignsIn, Timestamped, Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Base32 TOTP secret: the second factor every staff sign-in needs.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit | None] = relationship()

    def get_id(self) -> str:
        return f"staff:{self.id}"
