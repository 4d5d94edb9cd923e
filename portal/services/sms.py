"""Sending texts. One interface, several backends; the outbox backend keeps them in the database.

Every text is a row of `sms_messages` before any backend sees it, so a gateway failure never loses a
message: it stays in the table with status "failed" (or "pending" if the process stopped first).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from portal.models.base import utcnow
from portal.models.sms import SmsMessage

log = logging.getLogger(__name__)


class SmsBackend(Protocol):
    name: str

    def deliver(self, message: SmsMessage) -> None:
        """Hand the message on, setting its status (and gateway reference)."""


class OutboxBackend:
    """The default: messages are only stored, and shown by `flask --app portal sms-outbox`."""

    name = "outbox"

    def deliver(self, message: SmsMessage) -> None:
        message.status = "stored"


class HttpGatewayBackend:
    """POSTs each text as JSON to an SMS gateway and keeps the reference the gateway answers with.

    Request: {"phone", "message", "purpose", "client_reference"} with `Authorization: Bearer <key>` when a
    key is set. Any 2xx answer is success; its JSON may carry the gateway's id as "reference", "id",
    "message_id" or "msgid". Anything else marks the message failed.
    """

    name = "http"
    REFERENCE_KEYS = ("reference", "id", "message_id", "msgid")

    def __init__(self, url: str, key: str | None = None, timeout: float = 5.0) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout

    def deliver(self, message: SmsMessage) -> None:
        payload = {
            "phone": message.phone,
            "message": message.body,
            "purpose": message.purpose,
            "client_reference": str(message.id) if message.id is not None else None,
        }
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(payload, ensure_ascii=False).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(64 * 1024)
        except urllib.error.HTTPError as error:
            self._failed(message, f"HTTP {error.code}")
            return
        except (urllib.error.URLError, OSError, ValueError) as error:
            # URLError: refused or unresolvable; OSError: timeouts and resets; ValueError: a bad URL.
            self._failed(message, str(getattr(error, "reason", error)))
            return
        message.status = "sent"
        message.gateway_reference = self._reference(body)

    def _reference(self, body: bytes) -> str | None:
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return None
        if not isinstance(answer, dict):
            return None
        for key in self.REFERENCE_KEYS:
            if answer.get(key) not in (None, ""):
                return str(answer[key])[:100]
        return None

    @staticmethod
    def _failed(message: SmsMessage, reason: str) -> None:
        message.status = "failed"
        log.warning("SMS %s to %s failed at the gateway: %s", message.id, message.phone, reason)


def send_sms(session: Session, backend: SmsBackend, phone: str, body: str, purpose: str) -> SmsMessage:
    """Record the text and deliver it; the caller commits with the change the text is about."""
    message = SmsMessage(phone=phone, body=body, purpose=purpose, backend=backend.name, status="pending")
    session.add(message)
    session.flush()
    backend.deliver(message)
    return message


@dataclass(frozen=True)
class Text:
    phone: str
    body: str
    purpose: str


def queue_texts(session: Session, backend: SmsBackend, texts: Iterable[Text]) -> int:
    """Store many texts in one statement, with the caller's transaction.

    The outbox needs nothing more. For a gateway they wait as "pending" until `deliver_pending` runs
    after the commit, so a slow gateway never holds the database transaction open.
    """
    status = "stored" if isinstance(backend, OutboxBackend) else "pending"
    now = utcnow()
    rows = [
        {
            "phone": text.phone,
            "body": text.body,
            "purpose": text.purpose,
            "backend": backend.name,
            "status": status,
            "created_at": now,
        }
        for text in texts
    ]
    if rows:
        session.execute(insert(SmsMessage), rows)
    return len(rows)


def deliver_pending(session: Session, backend: SmsBackend, batch: int = 100) -> tuple[int, int]:
    """Hand pending texts to the backend, committing as it goes; returns (sent, failed)."""
    if isinstance(backend, OutboxBackend):
        return 0, 0
    sent = failed = 0
    last_id = 0
    while True:
        messages = session.scalars(
            select(SmsMessage)
            .where(
                SmsMessage.status == "pending", SmsMessage.backend == backend.name, SmsMessage.id > last_id
            )
            .order_by(SmsMessage.id)
            .limit(batch)
        ).all()
        if not messages:
            return sent, failed
        for message in messages:
            backend.deliver(message)
            if message.status == "failed":
                failed += 1
            else:
                sent += 1
        last_id = messages[-1].id
        session.commit()


def backend_from_config(config: Mapping[str, Any]) -> SmsBackend:
    """The backend named by the SMS_BACKEND setting."""
    name = config.get("SMS_BACKEND", "outbox")
    if name == "outbox":
        return OutboxBackend()
    if name == "http":
        url = config.get("SMS_GATEWAY_URL")
        if not url:
            raise ValueError("SMS_BACKEND is 'http' but SMS_GATEWAY_URL is not set")
        return HttpGatewayBackend(
            url=url,
            key=config.get("SMS_GATEWAY_KEY") or None,
            timeout=float(config.get("SMS_GATEWAY_TIMEOUT", 5.0)),
        )
    raise ValueError(f"Unknown SMS_BACKEND {name!r}")


def outbox(session: Session, phone: str | None = None, last: int = 20) -> list[SmsMessage]:
    """The most recent texts (newest last), optionally to one phone."""
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(last)
    if phone:
        query = query.where(SmsMessage.phone == phone)
    return list(reversed(session.scalars(query).all()))
