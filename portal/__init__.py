"""资格认证服务平台: the Flask application factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import StrictUndefined

from portal.config import DefaultConfig, environment_overrides
from portal.extensions import babel, csrf, db, limiter, login_manager

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(environment_overrides())
    app.config.update(config or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _fill_instance_defaults(app)

    from portal.services.face_models import require_face_models

    require_face_models()

    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portal import errors, i18n, security, sign_in, templating
    from portal.account.views import account
    from portal.auth import session_timeout
    from portal.auth.views import auth
    from portal.certify.views import certify
    from portal.cli import register_commands
    from portal.public.views import public
    from portal.staff.views import staff

    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    sign_in.init_app(app)
    templating.init_app(app)
    session_timeout.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(auth)
    app.register_blueprint(account)
    app.register_blueprint(certify)
    app.register_blueprint(staff)
    register_commands(app)
    return app


def _fill_instance_defaults(app: Flask) -> None:
    """Give a fresh instance folder a database URL and a persistent secret key of its own."""
    instance = Path(app.instance_path)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.db'}"
    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
    store = Path(app.config["IMAGE_STORE"])
    app.config["IMAGE_STORE"] = str(store if store.is_absolute() else instance / store)
    key_path = Path(app.config["IMAGE_KEY_FILE"])
    app.config["IMAGE_KEY_FILE"] = str(key_path if key_path.is_absolute() else instance / key_path)
