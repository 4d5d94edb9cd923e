"""Keep the Chinese (zh_Hans_CN) catalogue in step with the code.

    python tools/translate.py [TRANSLATIONS.json ...]

Extracts every message from portal/ and templates/, merges it into
portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po, applies the {English: 中文} pairs of each
JSON file given, compiles the catalogue and lists the messages still untranslated. A file lock
lets several people run it at once.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
CATALOGUE = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
TEMPLATE = TRANSLATIONS / "messages.pot"
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "N_"]


def main(json_files: list[str]) -> int:
    pairs: dict[str, str] = {}
    for name in json_files:
        pairs.update(json.loads(Path(name).read_text(encoding="utf-8")))
    with open(TRANSLATIONS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pybabel = str(Path(sys.executable).parent / "pybabel")
        subprocess.run(
            [pybabel, "extract", "-F", "babel.cfg", *KEYWORDS, "-o", str(TEMPLATE), "."],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [pybabel, "update", "-N", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with CATALOGUE.open("rb") as po:
            catalogue = read_po(po, locale="zh_Hans_CN")
        for message in catalogue:
            if message.id and message.id in pairs:
                message.string = pairs[message.id]
                message.flags.discard("fuzzy")
        catalogue.obsolete.clear()
        with CATALOGUE.open("wb") as po:
            write_po(po, catalogue, width=0, omit_header=False, sort_output=False)
        with CATALOGUE.with_suffix(".mo").open("wb") as mo:
            write_mo(mo, catalogue)
    missing = [message.id for message in catalogue if message.id and not message.string]
    for message_id in missing:
        print(f"untranslated: {message_id!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
