"""Face verification on recorded frames, outside the browser: `flask --app portal verify-frames`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from portal.services.faces import FaceLimits, encode_reference_photo
from portal.services.liveness import issue_challenge, parse_challenges
from portal.services.validation import InvalidInput
from portal.services.verification import VerificationSettings, verify_session

FRAME_SUFFIXES = {".jpg", ".jpeg", ".png"}


def _steps(value: str | None) -> tuple[str, ...] | None:
    try:
        return parse_challenges(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--challenges") from None


@click.command("verify-frames")
@click.option(
    "--reference",
    "reference_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The reference photo of the person.",
)
@click.argument("frames_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--challenges",
    help="Steps in order, e.g. blink,turn_left (blink, turn_left, turn_right, open_mouth). "
    "Default: LIVENESS_CHALLENGES, else 2 random steps.",
)
@with_appcontext
def verify_frames(reference_path: Path, frames_dir: Path, challenges: str | None) -> None:
    """Verify a folder of webcam frames (in name order) against a reference photo; print JSON.

    Exits with status 0 when the verdict is success, 1 for any other verdict.
    """
    config = current_app.config
    fixed = _steps(challenges) or _steps(config.get("LIVENESS_CHALLENGES"))
    steps = issue_challenge(datetime.now(UTC), fixed=fixed).steps
    try:
        reference = encode_reference_photo(reference_path.read_bytes(), FaceLimits.from_config(config))
    except InvalidInput as problem:
        raise click.BadParameter(_(problem.message), param_hint="--reference") from None
    paths = sorted(p for p in frames_dir.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file())
    result = verify_session(
        [p.read_bytes() for p in paths], reference, steps, VerificationSettings.from_config(config)
    )
    details = result.details()
    output = {
        "verdict": result.result,
        "distance": details["distance"],
        "cpu_seconds": details["cpu_seconds"],
        "steps": list(steps),
        "message": _(result.message),
        "hints": [_(hint) for hint in result.hints],
        "frames": [paths[i].name for i in result.chosen_frames],
        "details": details,
    }
    click.echo(json.dumps(output, ensure_ascii=False, indent=2))
    if not result.success:
        raise SystemExit(1)


commands = [verify_frames]
