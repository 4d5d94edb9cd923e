"""The back office: staff sign-in with a second factor, the dashboard, search and the person page."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.auth import session_timeout
from portal.extensions import db, limiter
from portal.models import (
    Certification,
    CertificationMethod,
    OfflineChannel,
    Payment,
    Pensioner,
    PensionerStatus,
    StaffRole,
    StaffUser,
)
from portal.services.audit import record_audit
from portal.services.clock import local_today
from portal.services.cycle import cycle_status, record_certification, status_counts, status_in_words
from portal.services.pensioner_search import search_pensioners
from portal.services.registry_import import parse_date
from portal.services.staff_accounts import check_second_factor, check_staff_password
from portal.services.validation import InvalidInput
from portal.staff.access import actor, ensure_can_see, staff_required, visible_unit_id
from portal.staff.forms import OfflineCertificationForm, SearchForm, SecondFactorForm, StaffSignInForm
from portal.templating import long_date, year_month
from portal.urls import same_site_path

staff = Blueprint("staff", __name__, url_prefix="/staff")

PENDING_KEY = "staff_pending_second_factor"
SECOND_FACTOR_WINDOW_SECONDS = 300


@staff.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"])
def sign_in() -> str | Response:
    form = StaffSignInForm()
    if form.validate_on_submit():
        user = check_staff_password(db.session, form.username.data or "", form.password.data or "")
        if user is None:
            form.form_errors.append(_("The username or password is not right"))
        else:
            session[PENDING_KEY] = {"id": user.id, "at": time.time(), "next": request.args.get("next")}
            return redirect(url_for("staff.second_factor"))
    session_ended = bool(session.pop(session_timeout.ENDED, False))
    return render_template("staff/sign-in.html", form=form, session_ended=session_ended)


@staff.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
def second_factor() -> str | Response:
    pending = session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > SECOND_FACTOR_WINDOW_SECONDS:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("staff.sign_in"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        user = db.session.get(StaffUser, pending["id"])
        if user is not None and check_second_factor(user, form.code.data or "", datetime.now(UTC)):
            destination = same_site_path(pending.get("next"), url_for("staff.dashboard"))
            session_timeout.sign_in(user)
            record_audit(db.session, f"staff:{user.id}", "staff_signed_in", ip_address=request.remote_addr)
            db.session.commit()
            return redirect(destination)
        form.code.errors.append(_("The code is not right: enter the code your app shows now"))
    return render_template("staff/second-factor.html", form=form)


@staff.post("/sign-out")
@staff_required()
def sign_out() -> Response:
    session_timeout.sign_out()
    return redirect(url_for("staff.sign_in"))


@staff.get("/")
@staff_required()
def dashboard() -> str:
    counts = status_counts(db.session, local_today(), current_app.config["CYCLE_DAYS"], visible_unit_id())
    return render_template("staff/dashboard.html", counts=counts)


@staff.get("/search")
@staff_required()
def search() -> str:
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    results = search_pensioners(db.session, query, unit_id=visible_unit_id()) if query else []
    if query:
        record_audit(
            db.session, actor(), "searched", ip_address=request.remote_addr, query=query, found=len(results)
        )
        db.session.commit()
    return render_template("staff/search.html", form=form, query=query, results=results)


@staff.get("/pensioners/<int:pensioner_id>")
@staff_required()
def pensioner(pensioner_id: int) -> str:
    person = ensure_can_see(db.session.get(Pensioner, pensioner_id))
    certifications = db.session.scalars(
        select(Certification)
        .where(Certification.pensioner_id == person.id)
        .order_by(Certification.certified_on.desc(), Certification.id.desc())
    ).all()
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.pensioner_id == person.id)
        .order_by(Payment.month.desc(), Payment.id.desc())
    ).all()
    record_audit(
        db.session, actor(), "viewed_pensioner", "pensioner", person.id, ip_address=request.remote_addr
    )
    db.session.commit()
    status = cycle_status(person, local_today(), current_app.config["CYCLE_DAYS"])
    return render_template(
        "staff/pensioner.html",
        person=person,
        status=status,
        status_words=status_in_words(status, _, long_date, year_month),
        certifications=certifications,
        payments=payments,
    )


@staff.route("/pensioners/<int:pensioner_id>/record-certification", methods=["GET", "POST"])
@staff_required(StaffRole.STAFF, StaffRole.ADMIN)
def record_offline_certification(pensioner_id: int) -> str | Response:
    person = ensure_can_see(db.session.get(Pensioner, pensioner_id))
    form = OfflineCertificationForm()
    if person.status is not PensionerStatus.TERMINATED and form.validate_on_submit():
        try:
            outcome = record_certification(
                db.session,
                person,
                parse_date(form.certified_on.data),
                CertificationMethod.OFFLINE,
                actor(),
                form.note.data or "",
                local_today(),
                channel=OfflineChannel(form.channel.data),
                cycle_days=current_app.config["CYCLE_DAYS"],
            )
        except InvalidInput as problem:
            # Channel and note are checked by the form, so what is left is about the date.
            form.certified_on.errors = [*form.certified_on.errors, _(problem.message)]
        else:
            record_audit(
                db.session,
                actor(),
                "recorded_offline_certification",
                "pensioner",
                person.id,
                ip_address=request.remote_addr,
                certified_on=outcome.certification.certified_on.isoformat(),
                channel=form.channel.data,
            )
            db.session.commit()
            flash(_("Certification recorded. Certified until %(date)s.", date=long_date(outcome.due_date)))
            return redirect(url_for("staff.pensioner", pensioner_id=person.id))
    return render_template("staff/record-certification.html", person=person, form=form)
