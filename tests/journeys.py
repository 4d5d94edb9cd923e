"""Helpers that walk the public account pages the way a person does: read the form, fill it in, send it."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import SmsMessage

PASSWORD = "a long password"


def page(response: TestResponse) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf_token(client: FlaskClient, url: str) -> str:
    """The token of the first POST form on the page at `url`."""
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} gave {response.status_code}"
    return page(response).find("input", attrs={"name": "csrf_token"})["value"]


def submit(
    client: FlaskClient, url: str, data: dict[str, str] | None = None, *, form_page: str | None = None
) -> TestResponse:
    """POST `data` to `url` with the CSRF token of `form_page` (default: the page at `url` itself)."""
    token = csrf_token(client, form_page or url)
    return client.post(url, data={"csrf_token": token, **(data or {})})


def latest_code(app: Flask, phone: str) -> str:
    """The digits of the newest text to `phone`, read from the outbox."""
    with app.app_context():
        text = db.session.scalars(
            select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc())
        ).first()
        assert text is not None, f"no text was sent to {phone}"
        return re.search(r"\d{6}", text.body).group()


def texts_to(app: Flask, phone: str) -> list[SmsMessage]:
    with app.app_context():
        return list(db.session.scalars(select(SmsMessage).where(SmsMessage.phone == phone)))


def register(
    client: FlaskClient,
    app: Flask,
    phone: str = "13812345678",
    *,
    name: str = "王秀兰",
    id_number: str = "11010519491231002X",
    password: str = PASSWORD,
) -> TestResponse:
    """Go through the four registration pages; returns the response of the last one."""
    assert submit(client, "/register", {"phone": phone}).status_code == 302
    assert submit(client, "/register/code", {"code": latest_code(app, phone)}).status_code == 302
    assert (
        submit(
            client,
            "/register/password",
            {"password": password, "confirm_password": password, "consent": "y"},
        ).status_code
        == 302
    )
    return submit(client, "/register/details", {"real_name": name, "id_number": id_number})


def sign_in(
    client: FlaskClient, phone: str = "13800000001", password: str = PASSWORD, remember: bool = False
) -> TestResponse:
    data = {"phone": phone, "password": password}
    if remember:
        data["remember"] = "y"
    return submit(client, "/sign-in", data)


def error_texts(response: TestResponse) -> dict[str, str]:
    """Inline error messages by field id, without the hidden "Error:" prefix."""
    html = page(response)
    errors = {}
    for message in html.select(".error-message[id$='-error']"):
        hidden = message.find(class_="visually-hidden")
        if hidden:
            hidden.extract()
        errors[message["id"].removesuffix("-error")] = message.get_text(" ", strip=True)
    return errors


def summary_texts(response: TestResponse) -> list[str]:
    summary = page(response).find(class_="error-summary")
    return [item.get_text(" ", strip=True) for item in summary.find_all("li")] if summary else []
