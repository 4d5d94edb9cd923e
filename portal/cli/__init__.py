"""Operations commands: `flask --app portal COMMAND` (DESIGN.md §5). One module per area."""

from __future__ import annotations

from flask import Flask

from portal.cli import database, demo, registry, staff


def register_commands(app: Flask) -> None:
    for group in (database, staff, registry, demo):
        for command in group.commands:
            app.cli.add_command(command)
