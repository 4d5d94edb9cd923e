from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portal.services.face_models import require_face_models
from portal.services.faces import (
    FaceLimits,
    FaceRejected,
    ImageRejected,
    encode_reference_photo,
    encoding_from_bytes,
    encoding_to_bytes,
    face_distance,
    load_image,
)

LIMITS = FaceLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_face_height=120)


def encode(path: Path) -> np.ndarray:
    return encode_reference_photo(path.read_bytes(), LIMITS)


def saved(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def obama(faces_root: Path) -> np.ndarray:
    return encode(faces_root / "people/obama/obama.jpg")


@pytest.fixture(scope="module")
def faces_root() -> Path:
    from tests.conftest import FACES

    if not FACES.is_dir():
        pytest.skip(f"the shared face photos are not at {FACES}")
    return FACES


def test_limits_come_from_the_settings():
    limits = FaceLimits.from_config(
        {"FACE_IMAGE_MAX_BYTES": 1000, "FACE_IMAGE_MAX_PIXELS": 2000, "FACE_MIN_HEIGHT_PX": 90}
    )
    assert limits == FaceLimits(max_bytes=1000, max_pixels=2000, min_face_height=90)


@pytest.mark.parametrize("other", ["obama2.jpg", "obama3.jpg"])
def test_two_photos_of_the_same_person_are_close(faces, obama, other):
    assert face_distance(obama, encode(faces / "people/obama" / other)) <= 0.5


def test_photos_of_different_people_are_far_apart(faces, obama):
    assert face_distance(obama, encode(faces / "people/biden/biden.jpg")) > 0.55


def test_a_photo_of_two_people_is_refused_as_several_faces(faces):
    with pytest.raises(FaceRejected) as error:
        encode(faces / "group/two_people.jpg")
    assert error.value.reason == "several_faces"
    assert "More than one face" in error.value.message


def test_a_photo_without_a_face_is_refused(faces):
    with pytest.raises(FaceRejected) as error:
        encode_reference_photo(saved(Image.new("RGB", (640, 480), (90, 120, 90)), "JPEG"), LIMITS)
    assert error.value.reason == "no_face"
    assert "No face" in error.value.message


def test_a_face_below_the_minimum_height_is_too_small(faces):
    with pytest.raises(FaceRejected) as error:
        encode_reference_photo((faces / "people/obama/obama_small.jpg").read_bytes(), LIMITS)
    assert error.value.reason == "too_small"


def test_exif_orientation_is_applied(faces, obama):
    path = faces / "formats/obama2-exif-orientation-6.jpg"
    with Image.open(path) as stored:
        assert stored.size[0] > stored.size[1], "the pixels are stored on their side"
    image = load_image(path.read_bytes(), LIMITS)
    assert image.shape[0] > image.shape[1]
    assert face_distance(obama, encode(path)) <= 0.5


def test_an_rgba_png_is_converted(faces, obama):
    path = faces / "formats/obama2-rgba.png"
    image = load_image(path.read_bytes(), LIMITS)
    assert image.dtype == np.uint8 and image.shape[2] == 3 and image.flags.c_contiguous
    assert face_distance(obama, encode(path)) <= 0.5


@pytest.mark.parametrize(
    ("mode", "format"), [("CMYK", "JPEG"), ("L", "JPEG"), ("LA", "PNG"), ("P", "PNG"), ("I;16", "PNG")]
)
def test_other_colour_modes_are_converted_and_encoded(faces, obama, mode, format):
    with Image.open(faces / "people/obama/obama2.jpg") as photo:
        if mode == "I;16":
            converted = Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257)
        else:
            converted = photo.convert(mode)
    data = saved(converted, format)
    image = load_image(data, LIMITS)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.flags.c_contiguous
    assert image.max() > 200, "16-bit greys are scaled, not clipped or crushed"
    assert face_distance(obama, encode_reference_photo(data, LIMITS)) <= 0.5


def test_a_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("姓名,身份证号码\n张三,411702195001011234\n", encoding="utf-8")
    with pytest.raises(ImageRejected) as error:
        load_image(path.read_bytes(), LIMITS)
    assert error.value.reason == "not_an_image"
    assert error.value.message == "The file is not a photo: choose a JPEG or PNG picture"


def test_an_empty_file_is_refused():
    with pytest.raises(ImageRejected) as error:
        load_image(b"", LIMITS)
    assert error.value.reason == "empty"


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_jpeg_is_refused(faces, keep):
    require_face_models()  # face_recognition's import once made Pillow accept truncated files
    data = (faces / "people/obama/obama2.jpg").read_bytes()
    with pytest.raises(ImageRejected) as error:
        load_image(data[: int(len(data) * keep)], LIMITS)
    assert error.value.reason == "corrupt"
    assert "damaged or incomplete" in error.value.message


def test_a_png_with_a_damaged_checksum_is_refused(faces):
    data = bytearray(saved(Image.new("RGB", (64, 64), (200, 10, 10)), "PNG"))
    data[40] ^= 0xFF  # inside the first chunk after the header
    with pytest.raises(ImageRejected) as error:
        load_image(bytes(data), LIMITS)
    assert error.value.reason in {"corrupt", "not_an_image"}


def test_too_many_bytes_are_refused_before_decoding():
    limits = FaceLimits(max_bytes=1000, max_pixels=40_000_000, min_face_height=120)
    with pytest.raises(ImageRejected) as error:
        load_image(b"\xff\xd8" + b"\x00" * 2000, limits)
    assert error.value.reason == "too_many_bytes"
    assert "too large" in error.value.message


def test_a_huge_dimension_image_is_refused_without_decoding_it():
    # A 1-bit PNG compresses 30000×30000 blank pixels to a few kilobytes: a decompression bomb.
    data = saved(Image.new("1", (30_000, 30_000)), "PNG")
    assert len(data) < LIMITS.max_bytes
    with pytest.raises(ImageRejected) as error:
        load_image(data, LIMITS)
    assert error.value.reason == "too_many_pixels"


def test_pillows_own_bomb_error_becomes_too_many_pixels(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    roomy = FaceLimits(max_bytes=10**7, max_pixels=10**9, min_face_height=120)
    for size in [(40, 40), (100, 100)]:  # a warning above the limit, an error above twice the limit
        with pytest.raises(ImageRejected) as error:
            load_image(saved(Image.new("RGB", size), "PNG"), roomy)
        assert error.value.reason == "too_many_pixels"


def test_an_unsupported_format_is_refused():
    data = saved(Image.new("RGB", (32, 32)), "ICO")
    with pytest.raises(ImageRejected) as error:
        load_image(data, LIMITS)
    assert error.value.reason == "unsupported_format"


def test_encodings_round_trip_through_bytes(obama):
    data = encoding_to_bytes(obama)
    assert len(data) == 1024
    assert np.array_equal(encoding_from_bytes(data), obama)


def test_a_stored_encoding_of_the_wrong_size_is_an_error():
    with pytest.raises(ValueError, match="1024 bytes"):
        encoding_from_bytes(b"\x00" * 100)
