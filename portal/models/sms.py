from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class SmsMessage(Base):
    """Every text the service sends, whatever the backend: the outbox backend stops here."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), index=True)
    body: Mapped[str] = mapped_column(Text)
    # What the text is for, e.g. "verification_code", "reminder_30", "suspended".
    purpose: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    backend: Mapped[str] = mapped_column(String(16))
    # "stored" in the outbox, "sent" or "failed" through a gateway.
    status: Mapped[str] = mapped_column(String(16))
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
