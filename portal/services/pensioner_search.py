"""Finding a pensioner for the back office and the phone line: by name, ID number (or part) or phone."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from portal.models import Pensioner
from portal.services.validation import strip_separators


def search_pensioners(
    session: Session, query: str, unit_id: int | None = None, limit: int = 50
) -> list[Pensioner]:
    text = query.strip()
    if not text:
        return []
    digits = strip_separators(text).upper()
    conditions = [Pensioner.name.contains(text, autoescape=True)]
    if len(digits) >= 4 and (digits.isdigit() or (digits[:-1].isdigit() and digits[-1] == "X")):
        conditions.append(Pensioner.id_number.contains(digits, autoescape=True))
        conditions.append(Pensioner.phone.contains(digits, autoescape=True))
    statement = select(Pensioner).options(joinedload(Pensioner.unit)).where(or_(*conditions))
    if unit_id is not None:
        statement = statement.where(Pensioner.unit_id == unit_id)
    return list(session.scalars(statement.order_by(Pensioner.name, Pensioner.id).limit(limit)))
