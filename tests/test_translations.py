"""Every message in the code has a zh_CN translation, and the catalogue has nothing stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "portal" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_message_is_translated_into_chinese(tmp_path):
    template = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            pybabel,
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "-o",
            template,
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as pot:
        in_code = {message.id for message in read_po(pot) if message.id}
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po)
    translated = {message.id for message in catalogue if message.id and message.string and not message.fuzzy}
    missing = sorted(str(message_id) for message_id in in_code - translated)
    assert not missing, "untranslated (run tools/translate.py): " + "; ".join(missing)
