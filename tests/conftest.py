"""Shared fixtures: an app on a temporary instance folder, a client that checks page conventions."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Flask]:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": "localhost",
        }
    )
    with app.app_context():
        upgrade_to_latest(db.engine)
    app.test_client_class = ConventionCheckingClient
    yield app
    with app.app_context():
        db.engine.dispose()


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
