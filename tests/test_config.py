from __future__ import annotations

import builtins
import sys

import pytest

from portal import create_app
from portal.config import environment_overrides
from portal.services import face_models


def test_environment_values_are_read_as_json_when_they_are_json():
    overrides = environment_overrides(
        {
            "PORTAL_CYCLE_DAYS": "400",
            "PORTAL_SESSION_COOKIE_SECURE": "true",
            "PORTAL_REMINDER_DAYS": "[14, 3]",
            "PORTAL_SERVICE_PHONE": "0396-1234567",
            "PORTAL_DATABASE_URL": "postgresql+psycopg://u:p@db/portal",
            "PORTAL_INSTANCE_PATH": "/srv/instance",
            "HOME": "/root",
        }
    )
    assert overrides == {
        "CYCLE_DAYS": 400,
        "SESSION_COOKIE_SECURE": True,
        "REMINDER_DAYS": [14, 3],
        "SERVICE_PHONE": "0396-1234567",
        "DATABASE_URL": "postgresql+psycopg://u:p@db/portal",
    }


def test_the_instance_folder_and_database_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PORTAL_CYCLE_DAYS", "180")
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path / "elsewhere")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere' / 'portal.db'}"
    assert app.config["CYCLE_DAYS"] == 180
    # A fresh instance gets a persistent secret key of its own.
    key_file = tmp_path / "elsewhere" / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text()
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_instance_config_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SERVICE_PHONE = "0396-0000000"\nCYCLE_DAYS = 300\n')
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PORTAL_CYCLE_DAYS", "200")
    app = create_app()
    assert app.config["SERVICE_PHONE"] == "0396-0000000"
    assert app.config["CYCLE_DAYS"] == 200


def test_missing_face_models_stop_start_up_with_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def refuse_models(name, *args, **kwargs):
        if name == "face_recognition_models":
            raise ImportError("No module named 'face_recognition_models'")
        return real_import(name, *args, **kwargs)

    face_models.require_face_models.cache_clear()
    monkeypatch.delitem(sys.modules, "face_recognition_models", raising=False)
    monkeypatch.setattr(builtins, "__import__", refuse_models)
    try:
        with pytest.raises(face_models.FaceModelsUnavailable, match=r"face_recognition_models==0\.3\.0"):
            face_models.require_face_models()
    finally:
        monkeypatch.undo()
        face_models.require_face_models.cache_clear()
    assert face_models.require_face_models() is sys.modules["face_recognition"]


def test_face_recognition_quitting_becomes_a_clear_error(monkeypatch):
    """face_recognition calls quit() when it cannot load its models: that must not end the process quietly."""
    real_import = builtins.__import__

    def quitting(name, *args, **kwargs):
        if name == "face_recognition":
            raise SystemExit(0)
        return real_import(name, *args, **kwargs)

    face_models.require_face_models.cache_clear()
    monkeypatch.setattr(builtins, "__import__", quitting)
    try:
        with pytest.raises(face_models.FaceModelsUnavailable, match="tried to exit"):
            face_models.require_face_models()
    finally:
        monkeypatch.undo()
        face_models.require_face_models.cache_clear()
