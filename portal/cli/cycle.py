"""Cycle engine commands: record-offline, daily, payroll, import-evidence, import-deaths, sms-outbox."""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import select

from portal.cli.registry import describe, in_default_locale
from portal.extensions import db
from portal.models import CertificationMethod, OfflineChannel, Pensioner
from portal.services import cycle_texts
from portal.services.audit import record_audit
from portal.services.clock import SERVICE_TIMEZONE, local_today
from portal.services.cycle import cycle_status, record_certification, status_in_words
from portal.services.daily import LaterRunExists, run_daily
from portal.services.deaths import import_deaths
from portal.services.evidence import import_evidence
from portal.services.payroll import run_payroll, yuan
from portal.services.registry_import import Problem
from portal.services.sms import backend_from_config, outbox, send_sms
from portal.services.validation import InvalidInput, normalise_id_number
from portal.templating import long_date, year_month


def _date(_context: click.Context, _parameter: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(_("Write the date as YYYY-MM-DD, like 2027-03-01")) from None


def _month(_context: click.Context, _parameter: click.Parameter, value: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise click.BadParameter(_("Write the month as YYYY-MM, like 2027-03"))
    return date(int(match.group(1)), int(match.group(2)), 1)


def _not_after_today(day: date | None) -> date:
    today = local_today()
    if day is None:
        return today
    if day > today:
        raise click.UsageError(_("The date cannot be in the future"))
    return day


def _status_words(pensioner: Pensioner, today: date) -> str:
    status = cycle_status(pensioner, today, current_app.config["CYCLE_DAYS"])
    return status_in_words(status, _, long_date, year_month)


def _report_problems(file: Path, problems: list[Problem]) -> None:
    click.echo(
        _(
            "%(file)s was not imported and nothing was changed. Correct these %(count)d problems and import it again:",
            file=file.name,
            count=len(problems),
        ),
        err=True,
    )
    for problem in problems:
        click.echo(describe(problem), err=True)
    sys.exit(1)


@click.command("record-offline")
@click.argument("id_number")
@click.option("--date", "on", required=True, callback=_date, help="Day the person was seen, YYYY-MM-DD.")
@click.option(
    "--method", "channel", required=True, type=click.Choice([channel.value for channel in OfflineChannel])
)
@click.option("--note", required=True, help="Who saw the person, where and how.")
@click.option("--by", "by", default=None, help="Who records it (default: the system user).")
@with_appcontext
@in_default_locale
def record_offline(id_number: str, on: date, channel: str, note: str, by: str | None) -> None:
    """Record a certification staff made in person: home visit, counter, video call or other."""
    session = db.session
    today = local_today()
    try:
        id_number = normalise_id_number(id_number, today=today)
    except InvalidInput as problem:
        raise click.UsageError(_(problem.message)) from None
    pensioner = session.scalar(select(Pensioner).where(Pensioner.id_number == id_number))
    if pensioner is None:
        raise click.ClickException(_("No pensioner has this ID card number"))
    recorded_by = f"cli:{by or getpass.getuser()}"[:100]
    try:
        outcome = record_certification(
            session,
            pensioner,
            on,
            CertificationMethod.OFFLINE,
            recorded_by,
            note,
            today,
            channel=OfflineChannel(channel),
            cycle_days=current_app.config["CYCLE_DAYS"],
        )
    except InvalidInput as problem:
        session.rollback()
        raise click.ClickException(_(problem.message)) from None
    record_audit(
        session,
        recorded_by,
        "record_offline_certification",
        "pensioner",
        pensioner.id,
        certified_on=on.isoformat(),
        channel=channel,
    )
    if pensioner.phone:
        send_sms(
            session,
            backend_from_config(current_app.config),
            pensioner.phone,
            cycle_texts.certified(
                cycle_texts.BY_STAFF,
                outcome.due_date,
                outcome.resume_from,
                current_app.config["SERVICE_PHONE"],
            ),
            "certified_offline",
        )
    session.commit()
    click.echo(_("Recorded the certification of %(name)s.", name=pensioner.name))
    click.echo(_status_words(pensioner, today))


@click.command("daily")
@click.option("--date", "on", callback=_date, help="The day to run for, YYYY-MM-DD (default: today).")
@with_appcontext
@in_default_locale
def daily(on: date | None) -> None:
    """Suspend the overdue, send reminders, run the other daily tasks; a date runs once."""
    on = _not_after_today(on)
    try:
        report = run_daily(db.session, on, current_app.config, backend_from_config(current_app.config))
    except LaterRunExists as problem:
        raise click.ClickException(f"{_(problem.message)} ({problem.latest.isoformat()})") from None
    if report.already_ran:
        click.echo(_("The daily job already ran for %(day)s: nothing was changed.", day=on.isoformat()))
        return
    click.echo(
        _(
            "Daily job for %(day)s: %(suspended)d suspended, %(reminded)d reminders, %(texts)d texts.",
            day=on.isoformat(),
            suspended=report.suspended,
            reminded=report.reminded,
            texts=report.texts,
        )
    )
    for name, count in report.tasks.items():
        click.echo(f"{name}: {count}")
    if report.failed:
        click.echo(
            _(
                "The SMS gateway refused %(count)d texts; they are kept as failed (see sms-outbox).",
                count=report.failed,
            ),
            err=True,
        )


@click.command("payroll")
@click.option("--month", required=True, callback=_month, help="The month to pay, YYYY-MM.")
@with_appcontext
@in_default_locale
def payroll(month: date) -> None:
    """Add the month's payments: regular, withheld and back pay; running it again adds nothing."""
    try:
        report = run_payroll(db.session, month, local_today())
    except InvalidInput as problem:
        raise click.ClickException(_(problem.message)) from None
    click.echo(
        _(
            "Payroll for %(month)s: added %(regular)d regular payments, %(withheld)d withheld months and %(back_pay)d back payments.",
            month=f"{month:%Y-%m}",
            regular=report.regular,
            withheld=report.withheld,
            back_pay=report.back_pay,
        )
    )
    click.echo(
        _(
            "Totals for the month: paid %(paid)s yuan, back pay %(back_pay)s yuan, withheld %(withheld)s yuan.",
            paid=yuan(report.regular_fen),
            back_pay=yuan(report.back_pay_fen),
            withheld=yuan(report.withheld_fen),
        )
    )


@click.command("import-evidence")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--date", "on", callback=_date, help="Processing date, YYYY-MM-DD (default: today).")
@with_appcontext
@in_default_locale
def import_evidence_command(file: Path, on: date | None) -> None:
    """Passive certification: id_number, name, observed_on, source (CSV or XLSX, English or Chinese headers)."""
    on = _not_after_today(on)
    result = import_evidence(
        db.session, file, today=on, config=current_app.config, backend=backend_from_config(current_app.config)
    )
    if not result.ok:
        _report_problems(file, result.problems)
    click.echo(
        _(
            "Imported %(rows)d rows from %(file)s: %(certified)d certifications recorded, %(resumed)d pensioners paid again, %(unchanged)d rows changed nothing.",
            rows=result.rows,
            file=file.name,
            certified=result.certified,
            resumed=result.resumed,
            unchanged=result.not_newer,
        )
    )
    if result.still_overdue:
        click.echo(
            _(
                "%(count)d pensioners stay suspended: their evidence is too old to cover %(day)s.",
                count=result.still_overdue,
                day=on.isoformat(),
            )
        )
    click.echo(_("Texts sent: %(count)d.", count=result.texts))


@click.command("import-deaths")
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
@in_default_locale
def import_deaths_command(file: Path) -> None:
    """Death records: id_number, name, died_on; terminates payment and lists overpaid months."""
    result = import_deaths(db.session, file, today=local_today())
    if not result.ok:
        _report_problems(file, result.problems)
    click.echo(
        _(
            "Imported %(rows)d rows from %(file)s: %(terminated)d pensioners terminated, %(known)d already recorded.",
            rows=result.rows,
            file=file.name,
            terminated=result.terminated,
            known=result.already_recorded,
        )
    )
    if result.overpayments:
        click.echo(_("Paid for months after the death month, to recover:"))
        for payment in result.overpayments:
            click.echo(
                f"  {payment.id_number}  {payment.name}  {payment.died_on.isoformat()}  "
                f"{payment.for_month:%Y-%m}  {yuan(payment.amount_fen)}"
            )
        total = sum(payment.amount_fen for payment in result.overpayments)
        click.echo(_("Total to recover: %(amount)s yuan.", amount=yuan(total)))


@click.command("sms-outbox")
@click.option("--phone", default=None, help="Only texts to this number.")
@click.option("--last", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many.")
@with_appcontext
@in_default_locale
def sms_outbox(phone: str | None, last: int) -> None:
    """Show the latest texts, oldest first."""
    messages = outbox(db.session, phone=phone, last=last)
    if not messages:
        click.echo(_("No texts."))
        return
    for message in messages:
        sent = message.created_at
        if sent.tzinfo is None:
            # SQLite hands back the stored UTC time without its zone.
            sent = sent.replace(tzinfo=UTC)
        click.echo(
            f"{sent.astimezone(SERVICE_TIMEZONE):%Y-%m-%d %H:%M}  {message.phone}  {message.purpose}  "
            f"{message.status}"
        )
        click.echo(f"    {message.body}")


commands = [record_offline, daily, payroll, import_evidence_command, import_deaths_command, sms_outbox]
