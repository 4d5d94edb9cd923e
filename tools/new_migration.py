"""Write a new Alembic migration for the models that the migrations do not yet create.

    python tools/new_migration.py REVISION_ID "what it adds" [--after PARENT_REVISION]

Upgrades a scratch SQLite database to every current head, then autogenerates the difference
from the models, based on PARENT_REVISION (default: the only head). Several people may add
migrations on parallel branches; `init-db` upgrades to all heads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command

from portal.database import make_engine
from portal.services.schema import alembic_config, upgrade_to_latest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("revision")
    parser.add_argument("message")
    parser.add_argument("--after", default=None)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade_to_latest(engine)
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(
                config,
                message=arguments.message,
                autogenerate=True,
                rev_id=arguments.revision,
                head=arguments.after or "head",
                # A parent that already has children starts a parallel branch.
                splice=arguments.after is not None,
            )
        engine.dispose()


if __name__ == "__main__":
    main()
