"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date

from flask import Flask, current_app, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.models import CertificationMethod, OfflineChannel, PaymentKind, PensionerStatus
from portal.services.validation import format_yuan, mask_id_number

STATUS_LABELS = {
    PensionerStatus.ACTIVE: _l("Active"),
    PensionerStatus.SUSPENDED: _l("Payment suspended"),
    PensionerStatus.TERMINATED: _l("Terminated"),
}
METHOD_LABELS = {
    CertificationMethod.SELF: _l("Face check by the pensioner"),
    CertificationMethod.OTHER: _l("Face check by a helper"),
    CertificationMethod.REVIEW: _l("Photo checked by staff"),
    CertificationMethod.OFFLINE: _l("Recorded by staff (home visit, counter or video call)"),
    CertificationMethod.DATA: _l("Records from other departments"),
}


CHANNEL_LABELS = {
    OfflineChannel.HOME_VISIT: _l("home visit"),
    OfflineChannel.COUNTER: _l("office counter"),
    OfflineChannel.VIDEO: _l("video call"),
    OfflineChannel.OTHER: _l("other"),
}
PAYMENT_KIND_LABELS = {
    PaymentKind.REGULAR: _l("Paid"),
    PaymentKind.WITHHELD: _l("Withheld (suspended)"),
    PaymentKind.BACK_PAY: _l("Back pay"),
}


def long_date(value: date | None) -> str:
    """2027年3月1日 in Chinese, 1 March 2027 in English."""
    if value is None:
        return ""
    if str(get_locale()).startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value.strftime('%B')} {value.year}"


def year_month(value: date | None) -> str:
    if value is None:
        return ""
    if str(get_locale()).startswith("zh"):
        return f"{value.year}年{value.month}月"
    return f"{value.strftime('%B')} {value.year}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        long_date=long_date, year_month=year_month, masked_id=mask_id_number, yuan=format_yuan
    )

    app.jinja_env.globals.update(
        status_label=lambda status: STATUS_LABELS[PensionerStatus(status)],
        method_label=lambda method: METHOD_LABELS[CertificationMethod(method)],
        channel_label=lambda channel: CHANNEL_LABELS[OfflineChannel(channel)],
        payment_kind_label=lambda kind: PAYMENT_KIND_LABELS[PaymentKind(kind)],
    )

    @app.context_processor
    def service_context() -> dict[str, object]:
        return {
            "service_phone": current_app.config["SERVICE_PHONE"],
            "large_text": bool(session.get("large_text")),
        }
