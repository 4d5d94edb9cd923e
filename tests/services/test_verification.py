from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from portal.config import DefaultConfig
from portal.services.faces import FaceLimits, encode_reference_photo, load_image, single_face
from portal.services.verification import VerificationSettings, verify_session
from tests.conftest import FACES

CONFIG = {name: getattr(DefaultConfig, name) for name in dir(DefaultConfig) if name.isupper()}
SETTINGS = VerificationSettings.from_config(CONFIG)


@pytest.fixture(scope="module")
def shared() -> Path:
    if not FACES.is_dir():
        pytest.skip(f"the shared face photos are not at {FACES}")
    return FACES


@pytest.fixture(scope="module")
def clip(shared) -> list[bytes]:
    return [path.read_bytes() for path in sorted((shared / "clips/blink-640x480").glob("f*.jpg"))]


@pytest.fixture(scope="module")
def obama(shared) -> np.ndarray:
    return encode_reference_photo(
        (shared / "people/obama/obama.jpg").read_bytes(), FaceLimits.from_config(CONFIG)
    )


@pytest.fixture(scope="module")
def biden(shared) -> np.ndarray:
    return encode_reference_photo(
        (shared / "people/biden/biden.jpg").read_bytes(), FaceLimits.from_config(CONFIG)
    )


def webcam_frame(photo: Path | Image.Image, colour: tuple[int, int, int] = (128, 128, 128)) -> bytes:
    """A photo fitted into a 640×480 JPEG, as the capture page sends it."""
    image = photo if isinstance(photo, Image.Image) else Image.open(photo)
    image = image.convert("RGB")
    image.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), colour)
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def face_frame(path: Path, face_height: int = 240) -> bytes:
    """A photo scaled so its face is `face_height` pixels high, cropped to 640×480 around the face."""
    limits = FaceLimits.from_config(CONFIG)
    top, right, bottom, left = single_face(load_image(path.read_bytes(), limits), limits)
    scale = face_height / (bottom - top)
    with Image.open(path) as photo:
        image = ImageOps.exif_transpose(photo).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    x, y = (left + right) / 2 * scale, (top + bottom) / 2 * scale
    return webcam_frame(image.crop((round(x - 320), round(y - 240), round(x + 320), round(y + 240))))


def test_settings_come_from_the_config():
    assert SETTINGS.accept_distance == 0.50 and SETTINGS.review_distance == 0.55
    assert SETTINGS.same_person_distance == 0.45 and SETTINGS.min_face_height == 120


def test_the_blink_clip_against_the_same_person_succeeds(clip, obama):
    result = verify_session(clip, obama, ["blink"], SETTINGS)
    assert result.result == "success", result.details()
    assert result.distance is not None and result.distance <= 0.5
    assert result.frames_used == 30 and result.frame_counts["face"] == 30
    blink = result.liveness["challenges"][0]
    assert blink["step"] == "blink" and 14 <= blink["frames"][0] <= 16 and 18 <= blink["frames"][1] <= 20
    assert len(result.chosen_frames) == 3
    early, *_, late = result.chosen_frames
    assert early < blink["frames"][0] and late > blink["frames"][1], "early and late frames were compared"
    assert result.same_person_distance is not None and result.same_person_distance <= 0.45
    assert 0 < result.cpu_seconds < 10
    assert json.loads(json.dumps(result.details()))["result"] == "success"


def test_the_face_is_found_once_and_then_tracked(clip, obama):
    result = verify_session(clip, obama, ["blink"], SETTINGS)
    assert result.searches == 1


def test_a_face_moving_across_the_picture_is_tracked(clip, obama):
    moving = []
    for index, data in enumerate(clip):
        with Image.open(io.BytesIO(data)) as image:
            shifted = Image.new("RGB", image.size, (128, 128, 128))
            shifted.paste(image, (index * 5 - 75, index * 2 - 30))
        buffer = io.BytesIO()
        shifted.save(buffer, "JPEG", quality=90)
        moving.append(buffer.getvalue())
    result = verify_session(moving, obama, ["blink"], SETTINGS)
    assert result.result == "success", result.details()
    assert result.frames_used == 30 and result.searches <= 3


def test_the_blink_clip_against_someone_else_is_a_mismatch(clip, biden):
    result = verify_session(clip, biden, ["blink"], SETTINGS)
    assert result.result == "mismatch"
    assert result.distance is not None and result.distance > 0.55
    assert result.message == "The face did not match the photo on file"


def test_a_distance_between_the_thresholds_goes_to_review(clip, obama):
    distance = verify_session(clip, obama, ["blink"], SETTINGS).distance
    assert distance is not None
    narrow = replace(SETTINGS, accept_distance=distance - 0.01, review_distance=distance + 0.01)
    result = verify_session(clip, obama, ["blink"], narrow)
    assert result.result == "review"


def test_a_still_photo_replayed_fails_liveness(clip, obama):
    result = verify_session([clip[0]] * 30, obama, ["blink"], SETTINGS)
    assert result.result == "liveness_failed"
    assert result.failed_step == "blink" and result.message == "You did not blink"


def test_a_challenge_not_in_the_clip_fails_and_is_named(clip, obama):
    result = verify_session(clip, obama, ["blink", "turn_right"], SETTINGS)
    assert result.result == "liveness_failed" and result.failed_step == "turn_right"
    assert result.liveness["challenges"][0]["step"] == "blink"


def test_frames_of_two_people_are_several_faces(shared, obama):
    frame = webcam_frame(shared / "group/two_people.jpg")
    result = verify_session([frame] * 20, obama, ["blink"], SETTINGS)
    assert result.result == "several_faces"
    assert "More than one face" in result.message


def test_a_second_face_appearing_later_is_noticed(shared, clip, obama):
    later = webcam_frame(shared / "group/two_people.jpg")
    result = verify_session([*clip, *[later] * 10], obama, ["blink"], SETTINGS)
    assert result.result == "several_faces"


def test_blank_frames_are_no_face_and_dark_ones_say_so(obama):
    grey = webcam_frame(Image.new("RGB", (640, 480), (150, 150, 150)))
    result = verify_session([grey] * 15, obama, ["blink"], SETTINGS)
    assert result.result == "no_face" and result.hints == []
    dark = webcam_frame(Image.new("RGB", (640, 480), (12, 10, 14)))
    result = verify_session([dark] * 15, obama, ["blink"], SETTINGS)
    assert result.result == "no_face"
    assert result.hints == ["The picture is too dark: turn on a light or sit facing a window"]


def test_a_face_far_from_the_camera_is_too_small(clip, obama):
    with Image.open(io.BytesIO(clip[0])) as image:
        small = webcam_frame(image.resize((220, 165)))
    result = verify_session([small] * 15, obama, ["blink"], SETTINGS)
    assert result.result == "too_small"


def test_a_different_face_at_the_end_fails_the_same_person_check(shared, clip, obama):
    someone_else = face_frame(shared / "people/biden/biden.jpg")
    result = verify_session([*clip, *[someone_else] * 12], obama, ["blink"], SETTINGS)
    assert result.result == "liveness_failed"
    assert result.message == "The face changed during the check"
    assert result.same_person_distance is not None and result.same_person_distance > 0.45


def test_swapping_a_frontal_photo_for_a_turned_one_is_not_a_head_turn(shared, obama):
    frontal = face_frame(shared / "people/obama/obama.jpg")
    turned = face_frame(shared / "people/obama/obama1.jpg")  # the nose towards the image's right
    frames = [frontal] * 8 + [turned] * 4 + [frontal] * 8
    result = verify_session(frames, obama, ["turn_left"], SETTINGS)
    assert result.result == "liveness_failed" and result.failed_step == "turn_left"


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([b"x"] * 14, "too_few_frames"),
        ([b"x"] * 181, "too_many_frames"),
        ([b"x" * (400 * 1024 + 1)] * 15, "frame_too_large"),
        ([b"not a picture"] * 15, "unreadable_frames"),
    ],
)
def test_sessions_outside_the_limits_are_errors(frames, problem, obama):
    result = verify_session(frames, obama, ["blink"], SETTINGS)
    assert result.result == "error" and result.problem == problem
    assert "try again" in result.message


def test_frames_with_too_many_pixels_are_an_error(clip, obama):
    huge = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 90, 90)).save(huge, "PNG")
    result = verify_session([*clip[:14], huge.getvalue()], obama, ["blink"], SETTINGS)
    assert result.result == "error" and result.problem == "frame_too_large"


def test_a_few_damaged_frames_are_skipped(clip, obama):
    frames = list(clip)
    frames[3] = clip[3][: len(clip[3]) // 2]
    result = verify_session(frames, obama, ["blink"], SETTINGS)
    assert result.result == "success"
    assert result.frame_counts["unreadable"] == 1 and result.frames_used == 29
