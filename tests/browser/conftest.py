"""Real-browser tests: the app on a free local port, driven by Debian's headless Chromium through Playwright.

One server and one browser serve the whole test session; every test gets a fresh browser context (its own
cookies). Mark test modules with `pytestmark = pytest.mark.browser`; `-m "not browser"` skips them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.services.schema import upgrade_to_latest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as RECIPES.md says; Playwright must never download a browser of its own.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live-server")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PORTAL_INSTANCE_PATH", str(folder / "instance"))
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
                "SECRET_KEY": "browser-test-secret",
                "RATELIMIT_ENABLED": False,
            }
        )
    with app.app_context():
        upgrade_to_latest(db.engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server: LiveServer):
    """A page in a fresh context (no cookies), with relative URLs going to the live server."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n       ")
            lines.append(f"       {summary}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe() -> Callable[..., None]:
    """`axe(page)` runs axe-core on the page as it is now and fails the test on any violation."""
    checker = Axe()

    def check(page, where: str | None = None) -> None:
        results = checker.run(page)
        violations = results.response["violations"]
        if violations:
            title = where or f"{page.url} ({page.title()})"
            pytest.fail(
                f"axe-core found {len(violations)} violation(s) on {title}:\n{describe_violations(violations)}",
                pytrace=False,
            )

    return check
