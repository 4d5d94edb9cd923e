from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import StaffRole
from portal.services.staff_accounts import create_staff_user, provisioning_uri
from portal.services.validation import InvalidInput


@click.command("create-staff")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in StaffRole]), required=True)
@click.option("--unit", "unit_code", help="Unit code, for a unit clerk.")
@click.option("--name", "display_name", help="Name shown in the back office.")
@click.password_option(help="Read from a prompt, or from stdin when piped.")
@with_appcontext
def create_staff(
    username: str, role: str, unit_code: str | None, display_name: str | None, password: str
) -> None:
    """Create a back-office user and print the secret for their authenticator app."""
    try:
        user = create_staff_user(db.session, username, password, StaffRole(role), display_name, unit_code)
        db.session.commit()
    except InvalidInput as problem:
        raise click.ClickException(_(problem.message)) from None
    click.echo(f"Created {user.username} ({user.role.value}).")
    click.echo(f"Authenticator secret: {user.totp_secret}")
    click.echo(f"Authenticator link:   {provisioning_uri(user)}")


commands = [create_staff]
