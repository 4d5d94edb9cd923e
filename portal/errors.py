"""Friendly pages for the errors people can meet, in their language."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def form_expired(_error: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("This page timed out"),
                message=_(
                    "For your security we did not save what you entered. Go back, reload the page and try again."
                ),
            ),
            400,
        )

    @app.errorhandler(403)
    def forbidden(_error: HTTPException) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("You cannot see this page"),
                message=_("Your account does not give you access to this page."),
            ),
            403,
        )

    @app.errorhandler(404)
    def not_found(_error: HTTPException) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("Page not found"),
                message=_("If you typed the web address, check it is correct."),
            ),
            404,
        )

    @app.errorhandler(413)
    def too_large(_error: HTTPException) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("The file is too large"),
                message=_(
                    "Choose a file smaller than %(megabytes)s MB.",
                    megabytes=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                ),
            ),
            413,
        )

    @app.errorhandler(429)
    def too_many_requests(_error: HTTPException) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("Too many attempts"),
                message=_("Wait a while and try again, or call the business line for help."),
            ),
            429,
        )

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return (
            render_template(
                "error.html",
                title=_("Sorry, there is a problem with the service"),
                message=_("Try again later. Nothing you entered has been saved."),
            ),
            500,
        )
