"""The registry in and out: `import-registry` and `export` (DESIGN.md §5)."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.extensions import db
from portal.services.clock import local_today
from portal.services.exports import EXPORT_KINDS, write_csv, write_xlsx
from portal.services.faces import FaceLimits
from portal.services.image_store import ImageStore
from portal.services.registry_import import ImportResult, Problem, import_registry

F = TypeVar("F", bound=Callable[..., Any])


def in_default_locale(command: F) -> F:
    """Commands have no request to pick a language from: they speak the service's default (zh_CN)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ProgressBars:
    """One click progress bar per phase of the import, drawn on stderr so stdout stays the summary."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Any = None
        self.shown = 0

    def labels(self) -> dict[str, str]:
        return {"rows": _("Checking rows"), "photos": _("Checking photos"), "write": _("Saving")}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.shown = 0
            self.bar = click.progressbar(length=total, label=self.labels().get(phase, phase), file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def describe(problem: Problem) -> str:
    """第 12 行，身份证号码：… / Line 12, id_number: …"""
    message = problem.text(_)
    if problem.line == 0:
        return message
    if problem.column:
        return _(
            "Line %(line)d, %(column)s: %(message)s",
            line=problem.line,
            column=problem.column,
            message=message,
        )
    return _("Line %(line)d: %(message)s", line=problem.line, message=message)


def summary(result: ImportResult, file_name: str) -> list[str]:
    counts = {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "file": file_name,
    }
    if result.dry_run:
        lines = [
            _("Dry run: %(file)s has no problems and nothing was written.", file=file_name),
            _(
                "Importing it would create %(created)d, update %(updated)d and leave %(unchanged)d pensioners unchanged.",
                **counts,
            ),
        ]
    else:
        lines = [
            _(
                "Imported %(rows)d rows from %(file)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.",
                **counts,
            )
        ]
    if result.units_created or result.units_renamed:
        lines.append(
            _(
                "Units: %(created)d new, %(renamed)d renamed.",
                created=result.units_created,
                renamed=result.units_renamed,
            )
        )
    if result.photos:
        lines.append(_("Reference photos with a face encoding: %(count)d.", count=result.photos))
    return lines


@click.command("import-registry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--photos",
    type=click.Path(path_type=Path),
    help="Folder or ZIP holding the photos named in the photo/照片 column.",
)
@click.option("--dry-run", is_flag=True, help="Check everything and report, but write nothing.")
@with_appcontext
@in_default_locale
def import_registry_command(file: Path, photos: Path | None, dry_run: bool) -> None:
    """Import pensioners from a CSV or XLSX file: all rows, or none if any row is wrong."""
    config = current_app.config
    with ProgressBars() as progress:
        result = import_registry(
            db.session,
            file,
            today=local_today(),
            photos=photos,
            limits=FaceLimits.from_config(config),
            store=ImageStore.from_config(config) if photos is not None and not dry_run else None,
            dry_run=dry_run,
            progress=progress,
        )
    if not result.ok:
        click.echo(
            _(
                "%(file)s was not imported and nothing was changed. Correct these %(count)d problems and import it again:",
                file=file.name,
                count=len(result.problems),
            ),
            err=True,
        )
        for problem in result.problems:
            click.echo(describe(problem), err=True)
        sys.exit(1)
    for line in summary(result, file.name):
        click.echo(line)


@click.command("export")
@click.argument("kind")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx"]),
    help="Defaults to xlsx when --out ends in .xlsx, otherwise csv.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (CSV: stdout when absent)."
)
@with_appcontext
@in_default_locale
def export_command(kind: str, file_format: str | None, out: Path | None) -> None:
    """Export KIND (pensioners, …) as CSV or XLSX."""
    export = EXPORT_KINDS.get(kind)
    if export is None:
        raise click.UsageError(
            _(
                "There is no export called %(kind)s. Choose one of: %(kinds)s",
                kind=kind,
                kinds=", ".join(EXPORT_KINDS),
            )
        )
    if file_format is None:
        file_format = "xlsx" if out is not None and out.suffix.lower() == ".xlsx" else "csv"
    if file_format == "xlsx" and out is None:
        raise click.UsageError(_("An XLSX export needs --out FILE"))
    if out is None:
        write_csv(export, db.session, current_app.config, sys.stdout)
        return
    # Write beside the target and rename, so a failed export never leaves half a file behind.
    out = out.resolve()
    if not out.parent.is_dir():
        raise click.UsageError(
            _("There is no folder %(folder)s to write the export to", folder=str(out.parent))
        )
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}-")
    try:
        if file_format == "csv":
            # The byte-order mark makes Excel read the file as UTF-8 instead of the local code page.
            with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as stream:
                count = write_csv(export, db.session, current_app.config, stream)
        else:
            with os.fdopen(descriptor, "wb") as binary:
                count = write_xlsx(export, db.session, current_app.config, binary)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(_("Wrote %(count)d rows to %(file)s", count=count, file=str(out)), err=True)


commands = [import_registry_command, export_command]
