"""Monthly payroll rows: what was paid, withheld, or paid late as back pay, and for which month."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.registry import Pensioner, str_enum


class PaymentKind(enum.StrEnum):
    REGULAR = "regular"
    BACK_PAY = "back_pay"  # 补发: paid with a later payroll for a month that was withheld
    WITHHELD = "withheld"  # 暂停: not paid; the amount is what back pay will pay


PAID_ONLY = text("kind <> 'withheld'")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("pensioner_id", "for_month", "kind", name="uq_payments_one_row_per_kind"),
        # A month is never paid twice, whether as a regular payment or as back pay.
        Index(
            "uq_payments_paid_once",
            "pensioner_id",
            "for_month",
            unique=True,
            sqlite_where=PAID_ONLY,
            postgresql_where=PAID_ONLY,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    # The payroll month (its first day) this row was part of, and the month it pays for.
    month: Mapped[date] = mapped_column(Date)
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind))
    amount_fen: Mapped[int] = mapped_column(Integer)
    for_month: Mapped[date] = mapped_column(Date)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pensioner: Mapped[Pensioner] = relationship()
