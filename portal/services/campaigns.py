from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Campaign


def current_campaign(session: Session, today: date) -> Campaign | None:
    """The notice people should see today: the latest one whose report window has not closed."""
    return session.scalars(
        select(Campaign)
        .where(Campaign.report_closes >= today)
        .order_by(Campaign.certification_opens.desc())
        .limit(1)
    ).first()
