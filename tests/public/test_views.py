from __future__ import annotations

from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup

from portal.models import Campaign
from portal.services.clock import local_today


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_start_page_is_in_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = page(response)
    assert html.html["lang"] == "zh-CN"
    assert html.h1.get_text(strip=True) == "领取社会保险待遇资格认证"
    assert "0396-2693828" in html.get_text()


def test_language_switch_shows_english_and_returns_to_the_same_page(client):
    switch = page(client.get("/privacy")).find("a", attrs={"hreflang": "en"})
    response = client.get(switch["href"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/privacy"
    english = page(client.get("/privacy"))
    assert english.html["lang"] == "en"
    assert english.h1.get_text(strip=True) == "Privacy notice"
    back = english.find("a", attrs={"hreflang": "zh-CN"})
    assert back.get_text(strip=True) == "中文"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_switches_never_redirect_off_site(client, target):
    assert client.get(f"/language/en?next={target}").headers["Location"] == "/"
    assert client.get(f"/text-size?next={target}").headers["Location"] == "/"


def test_unknown_language_is_not_found(client):
    assert client.get("/language/fr").status_code == 404


def test_large_text_mode_is_remembered(client):
    assert "large-text" not in page(client.get("/")).body.get("class", [])
    client.get("/text-size?next=/")
    html = page(client.get("/"))
    assert "large-text" in html.body["class"]
    assert html.find("a", string="标准字号")


def test_start_page_shows_the_current_campaign_dates(client, session):
    today = local_today()
    session.add(
        Campaign(
            title="2027年度资格认证",
            certification_opens=today - timedelta(days=10),
            certification_closes=today + timedelta(days=50),
            report_opens=today + timedelta(days=51),
            report_closes=today + timedelta(days=59),
        )
    )
    session.commit()
    opens = today - timedelta(days=10)
    text = page(client.get("/")).get_text()
    assert "2027年度资格认证" in text
    assert f"认证时间：{opens.year}年{opens.month}月{opens.day}日" in text


def test_a_finished_campaign_is_not_shown(client, session):
    session.add(
        Campaign(
            title="2022年资格认证",
            certification_opens=date(2022, 3, 22),
            certification_closes=date(2022, 5, 22),
            report_opens=date(2022, 5, 23),
            report_closes=date(2022, 5, 31),
        )
    )
    session.commit()
    assert "2022年资格认证" not in page(client.get("/")).get_text()


@pytest.mark.parametrize("path", ["/accessibility", "/privacy", "/terms"])
def test_statements_render(client, path):
    assert client.get(path).status_code == 200


def test_missing_page_is_friendly(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert page(response).h1.get_text(strip=True) == "找不到该页面"


def test_security_headers_on_every_page(client):
    headers = client.get("/").headers
    assert "nonce-" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Permissions-Policy"].startswith("camera=()")
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
