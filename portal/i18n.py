"""Language choice: zh-CN unless the person picked English with the switch on every page."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session


def select_locale() -> str:
    """The person's choice on web pages; the default (Chinese) for commands and background jobs."""
    chosen = session.get("language") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang(locale: str) -> str:
    """BCP 47 tag for <html lang>: zh_CN becomes zh-CN."""
    return locale.replace("_", "-")


def init_app(app: Flask) -> None:
    @app.context_processor
    def language_context() -> dict[str, object]:
        current = select_locale()
        other = "en" if current != "en" else "zh_CN"
        return {
            "current_language": current,
            "html_lang": html_lang(current),
            "other_language": other,
            "other_language_tag": html_lang(other),
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
