"""Sending texts. One interface, several backends; the outbox backend keeps them in the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from portal.models.sms import SmsMessage


class SmsBackend(Protocol):
    name: str

    def deliver(self, message: SmsMessage) -> None:
        """Hand the message on, setting its status (and gateway reference); may raise on failure."""


class OutboxBackend:
    """The default: messages are only stored, and shown by `flask --app portal sms-outbox`."""

    name = "outbox"

    def deliver(self, message: SmsMessage) -> None:
        message.status = "stored"


def send_sms(session: Session, backend: SmsBackend, phone: str, body: str, purpose: str) -> SmsMessage:
    """Record the text and deliver it; the caller commits with the change the text is about."""
    message = SmsMessage(phone=phone, body=body, purpose=purpose, backend=backend.name, status="pending")
    session.add(message)
    backend.deliver(message)
    return message


def backend_from_config(config: Mapping[str, Any]) -> SmsBackend:
    """The backend named by the SMS_BACKEND setting."""
    name = config.get("SMS_BACKEND", "outbox")
    if name == "outbox":
        return OutboxBackend()
    raise ValueError(f"Unknown SMS_BACKEND {name!r}")
