"""Shared fixtures: an app on a temporary instance folder, a client that checks page conventions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.database import make_engine
from portal.extensions import db
from portal.services.schema import upgrade_to_latest
from tests.databases import POSTGRES_URL, SKIP_REASON, empty_database, fresh_postgres_database
from tests.page_conventions import ConventionCheckingClient

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
FACES = SHARED / "faces"


@pytest.fixture
def faces() -> Path:
    if not FACES.is_dir():
        pytest.skip(f"the shared face photos are not at {FACES}")
    return FACES


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the test module."""
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    with fresh_postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite in the test's folder; modules marked BOTH_DATABASES (tests/databases.py) also get PostgreSQL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    empty_database(engine)
    engine.dispose()
    return url


@contextmanager
def portal_app(instance: Path, monkeypatch: pytest.MonkeyPatch, **settings: object) -> Iterator[Flask]:
    """An app on an instance folder of its own with an up-to-date database, for the test client."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SERVER_NAME": "localhost", **settings})
    with app.app_context():
        upgrade_to_latest(db.engine)
    app.test_client_class = ConventionCheckingClient
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Flask]:
    with portal_app(
        tmp_path / "instance", monkeypatch, DATABASE_URL=database_url, RATELIMIT_ENABLED=False
    ) as app:
        yield app


@pytest.fixture
def limited_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, FlaskClient]]:
    """An app with the rate limits on, counted in memory so that each test starts afresh, and its client."""
    with portal_app(
        tmp_path / "limited-instance",
        monkeypatch,
        DATABASE_URL=f"sqlite:///{tmp_path / 'limited.db'}",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    ) as limited:
        yield limited, limited.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask):
    """A database session inside an app context, for factories and assertions."""
    with app.app_context():
        yield db.session
