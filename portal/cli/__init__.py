"""Operations commands: `flask --app portal COMMAND` (DESIGN.md §5). One module per area."""

from __future__ import annotations

from flask import Flask

from portal.cli import cycle, database, demo, faces, registry, staff


def register_commands(app: Flask) -> None:
    for group in (database, staff, registry, demo, faces, cycle):
        for command in group.commands:
            app.cli.add_command(command)
