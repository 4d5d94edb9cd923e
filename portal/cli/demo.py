"""Demo data: `seed-demo` and `demo-sign-ins`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from portal.cli.registry import in_default_locale
from portal.extensions import db
from portal.models import StaffRole
from portal.services.clock import local_today
from portal.services.demo import DemoDataExists, DemoSignIns, demo_sign_ins, has_pensioners, seed_demo
from portal.services.faces import FaceLimits
from portal.services.image_store import ImageStore


def role_label(role: StaffRole) -> str:
    return {
        StaffRole.ADMIN: _("administrator"),
        StaffRole.STAFF: _("agency staff"),
        StaffRole.UNIT: _("unit clerk"),
    }[role]


def print_sign_ins(sign_ins: DemoSignIns) -> None:
    click.echo(_("Demo sign-ins"))
    click.echo(
        _(
            "Public account: mobile number %(phone)s, password %(password)s",
            phone=sign_ins.account_phone,
            password=sign_ins.account_password,
        )
    )
    click.echo(
        _(
            "  Certifies themself: %(name)s, ID card number %(id_number)s (reference photo: obama.jpg)",
            name=sign_ins.myself.name,
            id_number=sign_ins.myself.id_number,
        )
    )
    click.echo(
        _(
            "  Certifies someone else: %(name)s, ID card number %(id_number)s",
            name=sign_ins.helped.name,
            id_number=sign_ins.helped.id_number,
        )
    )
    click.echo(
        _(
            "Staff sign in at %(url)s; the code changes every 30 seconds (run demo-sign-ins for a fresh one):",
            url="http://127.0.0.1:5000/staff/sign-in",
        )
    )
    for user in sign_ins.staff:
        click.echo(
            _(
                "  %(username)s (%(role)s): password %(password)s, authenticator secret %(secret)s, code now %(code)s",
                username=user.username,
                role=role_label(user.role),
                password=user.password,
                secret=user.totp_secret,
                code=user.current_code(),
            )
        )


@click.command("seed-demo")
@click.option(
    "--photos",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with one sub-folder of photos per person (../shared/faces/people); skipped when missing.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Add nothing when the registry already has pensioners (the existing demo sign-ins are printed).",
)
@with_appcontext
@in_default_locale
def seed_demo_command(photos: Path | None, if_empty: bool) -> None:
    """Load demo units, pensioners, staff and a public account into an empty database."""
    if if_empty and has_pensioners(db.session):
        click.echo(_("The registry already has pensioners: no demo data added."))
        # `make run` calls this on every start: show the sign-ins there once, whether loaded now or before.
        existing = demo_sign_ins(db.session)
        if existing is not None:
            print_sign_ins(existing)
        return
    config = current_app.config
    try:
        loaded = seed_demo(
            db.session,
            today=local_today(),
            cycle_days=int(config["CYCLE_DAYS"]),
            photos=photos if photos is not None and photos.is_dir() else None,
            limits=FaceLimits.from_config(config),
            store=ImageStore.from_config(config),
        )
    except DemoDataExists:
        click.echo(
            _(
                "The database already has pensioners or demo sign-ins: demo data is only added to an empty one."
            ),
            err=True,
        )
        sys.exit(1)
    click.echo(
        _(
            "Demo data loaded: %(units)d units, %(pensioners)d pensioners (%(photos)d with a reference photo), "
            "%(staff)d staff users and a public account.",
            units=loaded.units,
            pensioners=loaded.pensioners,
            photos=loaded.photos,
            staff=len(loaded.sign_ins.staff),
        )
    )
    print_sign_ins(loaded.sign_ins)


@click.command("demo-sign-ins")
@with_appcontext
@in_default_locale
def demo_sign_ins_command() -> None:
    """Print the demo sign-ins again, with the staff's current authenticator codes."""
    sign_ins = demo_sign_ins(db.session)
    if sign_ins is None:
        click.echo(_("There are no demo sign-ins in this database: run seed-demo first."))
        return
    print_sign_ins(sign_ins)


commands = [seed_demo_command, demo_sign_ins_command]
