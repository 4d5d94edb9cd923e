"""The SMS backends; the gateway one against a real HTTP server on 127.0.0.1, never the network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from portal.models import SmsMessage
from portal.services.sms import (
    HttpGatewayBackend,
    OutboxBackend,
    Text,
    backend_from_config,
    deliver_pending,
    outbox,
    queue_texts,
    send_sms,
)


@dataclass
class FakeGateway:
    url: str
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    # What the next requests get: (status, body); the last one repeats.
    answers: list[tuple[int, bytes]] = field(default_factory=lambda: [(200, b'{"reference": "gw-1"}')])
    delay: float = 0.0


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    state = FakeGateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(json.loads(self.rfile.read(length)))
            state.headers.append(dict(self.headers))
            if state.delay:
                threading.Event().wait(state.delay)
            status, body = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def test_outbox_stores_the_text(session):
    message = send_sms(session, OutboxBackend(), "13900000001", "【资格认证】测试", "test")
    session.commit()
    assert (message.status, message.backend) == ("stored", "outbox")
    assert [m.body for m in outbox(session)] == ["【资格认证】测试"]


def test_gateway_posts_json_and_keeps_the_reference(session, gateway):
    backend = HttpGatewayBackend(gateway.url, key="secret-key", timeout=2)
    message = send_sms(
        session, backend, "13900000002", "【资格认证】您的认证将于2027年3月1日到期", "reminder_30"
    )
    session.commit()
    assert (message.status, message.gateway_reference, message.backend) == ("sent", "gw-1", "http")
    assert gateway.requests == [
        {
            "phone": "13900000002",
            "message": "【资格认证】您的认证将于2027年3月1日到期",
            "purpose": "reminder_30",
            "client_reference": str(message.id),
        }
    ]
    assert gateway.headers[0]["Authorization"] == "Bearer secret-key"


@pytest.mark.parametrize(
    "answer",
    [(500, b'{"error": "down"}'), (401, b"unauthorised"), (400, b"")],
)
def test_gateway_errors_mark_the_message_failed_and_keep_it(session, gateway, answer):
    gateway.answers = [answer]
    message = send_sms(session, HttpGatewayBackend(gateway.url), "13900000003", "正文", "suspended")
    session.commit()
    stored = session.scalar(select(SmsMessage))
    assert stored is message
    assert (stored.status, stored.gateway_reference, stored.body) == ("failed", None, "正文")


def test_an_unreachable_gateway_marks_the_message_failed(session, gateway):
    closed = HttpGatewayBackend("http://127.0.0.1:9/sms", timeout=1)
    message = send_sms(session, closed, "13900000004", "正文", "suspended")
    assert message.status == "failed"


def test_a_slow_gateway_times_out_and_marks_the_message_failed(session, gateway):
    gateway.delay = 1.0
    message = send_sms(session, HttpGatewayBackend(gateway.url, timeout=0.2), "13900000005", "正文", "x")
    assert message.status == "failed"


def test_a_success_without_a_reference_is_still_sent(session, gateway):
    gateway.answers = [(202, b"accepted")]
    message = send_sms(session, HttpGatewayBackend(gateway.url), "13900000006", "正文", "x")
    assert (message.status, message.gateway_reference) == ("sent", None)


def test_queued_texts_wait_as_pending_until_delivered_after_the_commit(session, gateway):
    gateway.answers = [(200, b'{"id": 11}'), (503, b""), (200, b'{"msgid": "c"}')]
    backend = HttpGatewayBackend(gateway.url)
    queued = queue_texts(
        session,
        backend,
        [Text("13900000007", "一", "a"), Text("13900000008", "二", "b"), Text("13900000009", "三", "c")],
    )
    assert queued == 3
    session.commit()
    assert {m.status for m in session.scalars(select(SmsMessage))} == {"pending"}
    assert gateway.requests == []
    assert deliver_pending(session, backend) == (2, 1)
    statuses = [
        (m.phone, m.status, m.gateway_reference)
        for m in session.scalars(select(SmsMessage).order_by(SmsMessage.id))
    ]
    assert statuses == [
        ("13900000007", "sent", "11"),
        ("13900000008", "failed", None),
        ("13900000009", "sent", "c"),
    ]
    # Failed texts are kept, not retried by the next delivery round.
    assert deliver_pending(session, backend) == (0, 0)


def test_outbox_queue_stores_at_once(session):
    assert queue_texts(session, OutboxBackend(), [Text("13900000010", "一", "a")]) == 1
    session.commit()
    assert session.scalar(select(SmsMessage.status)) == "stored"
    assert deliver_pending(session, OutboxBackend()) == (0, 0)


def test_backend_from_config():
    assert isinstance(backend_from_config({}), OutboxBackend)
    backend = backend_from_config(
        {
            "SMS_BACKEND": "http",
            "SMS_GATEWAY_URL": "https://sms.example/send",
            "SMS_GATEWAY_KEY": "k",
            "SMS_GATEWAY_TIMEOUT": 3,
        }
    )
    assert isinstance(backend, HttpGatewayBackend)
    assert (backend.url, backend.key, backend.timeout) == ("https://sms.example/send", "k", 3.0)
    with pytest.raises(ValueError, match="SMS_GATEWAY_URL"):
        backend_from_config({"SMS_BACKEND": "http"})
    with pytest.raises(ValueError, match="Unknown"):
        backend_from_config({"SMS_BACKEND": "pigeon"})


def test_outbox_filters_by_phone_and_keeps_the_latest(session):
    for number in range(5):
        send_sms(session, OutboxBackend(), f"1390000002{number % 2}", f"第{number}条", "x")
    session.commit()
    assert [m.body for m in outbox(session, phone="13900000020", last=2)] == ["第2条", "第4条"]
