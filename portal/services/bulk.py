"""Helpers for the set-based statements of the cycle engine."""

from __future__ import annotations

from sqlalchemy import Insert


def counted(statement: Insert) -> Insert:
    """An INSERT … SELECT whose rowcount is kept: SQLAlchemy drops it for INSERT unless asked."""
    return statement.execution_options(preserve_rowcount=True)
