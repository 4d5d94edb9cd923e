"""Checks every HTML page a test renders against the conventions of STYLE.md."""

from __future__ import annotations

from collections import Counter

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def check_page_conventions(html: str) -> BeautifulSoup:
    page = BeautifulSoup(html, "html.parser")
    assert page.html is not None and page.html.get("lang"), "<html> must have a lang attribute"
    headings = page.find_all("h1")
    assert len(headings) == 1, f"expected exactly one <h1>, found {len(headings)}"
    title = page.title.get_text(" ", strip=True) if page.title else ""
    heading = " ".join(headings[0].get_text(" ", strip=True).split())
    assert title.removeprefix("错误：").removeprefix("Error:").lstrip().startswith(heading), (
        f"<title> {title!r} must start with the <h1> {heading!r}"
    )
    ids = Counter(element["id"] for element in page.find_all(id=True))
    duplicates = [value for value, count in ids.items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    for form in page.find_all("form"):
        if form.get("method", "get").lower() == "post":
            assert form.find("input", attrs={"name": "csrf_token"}), "a POST form has no CSRF token"
    return page


class ConventionCheckingClient(FlaskClient):
    """A test client that checks page conventions on every full HTML page it receives."""

    def open(self, *args, **kwargs) -> TestResponse:
        response = super().open(*args, **kwargs)
        if response.mimetype == "text/html" and b"<html" in response.data[:500]:
            check_page_conventions(response.get_data(as_text=True))
        return response
