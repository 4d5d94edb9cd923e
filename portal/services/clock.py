"""Dates in the service's time zone: every rule of the cycle works on Asia/Shanghai local dates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SERVICE_TIMEZONE = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return datetime.now(SERVICE_TIMEZONE).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(SERVICE_TIMEZONE).date()
