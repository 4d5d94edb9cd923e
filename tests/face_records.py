"""Reference faces and webcam clips for certification tests, from the shared photos (never copied)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from portal.models import Pensioner, ReferenceFace
from portal.services.faces import FaceLimits, encode_reference_photo, encoding_to_bytes
from portal.services.image_store import ImageStore
from tests.conftest import FACES

OBAMA = "people/obama/obama.jpg"
BIDEN = "people/biden/biden.jpg"
BLINK_CLIP = "clips/blink-640x480"


@cache
def _encoding(path: Path, max_bytes: int, max_pixels: int, min_face_height: int) -> bytes:
    limits = FaceLimits(max_bytes, max_pixels, min_face_height)
    return encoding_to_bytes(encode_reference_photo(path.read_bytes(), limits))


def enrol_face(session: Session, config: Mapping[str, Any], pensioner: Pensioner, photo: str = OBAMA) -> None:
    """Give the pensioner a reference photo as an import does: encrypted image plus its encoding."""
    path = FACES / photo
    limits = FaceLimits.from_config(config)
    key = ImageStore.from_config(config).put(path.read_bytes())
    pensioner.reference_face = ReferenceFace(
        image_key=key,
        encoding=_encoding(path, limits.max_bytes, limits.max_pixels, limits.min_face_height),
        source="import",
        enrolled_by="test",
    )
    session.flush()


@cache
def blink_clip() -> tuple[bytes, ...]:
    """The 30 frames of the shared blink clip, f000 to f029."""
    return tuple(path.read_bytes() for path in sorted((FACES / BLINK_CLIP).glob("f*.jpg")))
