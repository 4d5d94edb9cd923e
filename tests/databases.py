"""Databases for tests: SQLite always, PostgreSQL when PORTAL_TEST_POSTGRES_URL names a server.

A module marked with BOTH_DATABASES runs each of its tests twice, once per backend; PostgreSQL gets a
fresh database per test module (created under a unique name, dropped afterwards) that every test empties.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, delete, make_url, text

from portal.database import make_engine
from portal.models import Base
from portal.services.schema import upgrade_to_latest

POSTGRES_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL")
SKIP_REASON = "PostgreSQL tests need PORTAL_TEST_POSTGRES_URL (.ci/run starts PostgreSQL and sets it)"

BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named, migrated database on the server; drop it afterwards."""
    name = f"portal_test_{uuid.uuid4().hex[:16]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            upgrade_to_latest(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def empty_database(engine: Engine) -> None:
    """Delete every row of every table the models know, keeping the schema."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(delete(table))
