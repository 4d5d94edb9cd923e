from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped
from portal.models.registry import Unit

campaign_units = Table(
    "campaign_units",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Timestamped, Base):
    """A published notice: a certification window and, after it, a window for units to report failures."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    certification_opens: Mapped[date] = mapped_column(Date)
    certification_closes: Mapped[date] = mapped_column(Date)
    report_opens: Mapped[date] = mapped_column(Date)
    report_closes: Mapped[date] = mapped_column(Date)

    units: Mapped[list[Unit]] = relationship(secondary=campaign_units)
