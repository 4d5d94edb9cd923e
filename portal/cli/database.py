from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.extensions import db
from portal.services.face_models import require_face_models
from portal.services.schema import upgrade_to_latest


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database or upgrade it to the latest migration (safe to run again)."""
    upgrade_to_latest(db.engine)
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("check-face-models")
def check_face_models() -> None:
    """Fail with a clear message unless the face recognition models load."""
    require_face_models()
    click.echo("Face models loaded.")


commands = [init_db, check_face_models]
