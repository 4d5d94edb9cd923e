from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db
from portal.models import Base
from portal.services.schema import upgrade_to_latest
from tests.databases import BOTH_DATABASES

pytestmark = BOTH_DATABASES


def test_migrations_build_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_init_db_is_idempotent(app, cli):
    first = cli.invoke(args=["init-db"])
    second = cli.invoke(args=["init-db"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    with app.app_context():
        upgrade_to_latest(db.engine)
