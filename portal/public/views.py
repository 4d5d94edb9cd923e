"""Pages anyone can read: the start page, the statements, and the language and text-size switches."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.services.campaigns import current_campaign
from portal.services.clock import local_today
from portal.urls import same_site_path

public = Blueprint("public", __name__)


@public.get("/")
def start() -> str:
    today = local_today()
    return render_template("public/start.html", campaign=current_campaign(db.session, today), today=today)


@public.get("/accessibility")
def accessibility() -> str:
    return render_template("public/accessibility.html")


@public.get("/privacy")
def privacy() -> str:
    return render_template("public/privacy.html")


@public.get("/terms")
def terms() -> str:
    return render_template("public/terms.html")


@public.get("/language/<code>")
def change_language(code: str) -> Response:
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["language"] = code
    return redirect(same_site_path(request.args.get("next")))


@public.get("/text-size")
def change_text_size() -> Response:
    session["large_text"] = not session.get("large_text")
    return redirect(same_site_path(request.args.get("next")))
