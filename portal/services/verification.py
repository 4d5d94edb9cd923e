"""Server-side check of a webcam session: one live person doing the challenges, matching the reference.

Speed comes from doing the expensive work rarely (docs/face-verification.md): HOG detection on the
first frame and whenever tracking is lost, 68 landmarks on every frame placed from the previous
frame's landmarks, a cheap face-presence check on a small crop every few frames, and face encodings
only for the 3 frontal frames that serve both the identity match and the early/late same-person check.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import numpy as np
from PIL import Image

from portal.services.face_models import require_face_models
from portal.services.faces import (
    DLIB_GREY,
    FaceLimits,
    ImageRejected,
    face_distance,
    load_grey_image,
    load_image,
)
from portal.services.liveness import (
    CENTRE_TOLERANCE,
    FRONTAL_HIGH,
    FRONTAL_LOW,
    Baseline,
    Event,
    FaceMeasure,
    check_challenges,
)
from portal.services.messages import N_

FRAME_SIZE = (640, 480)
PRESENCE_INTERVAL = 10  # frames (two thirds of a second) between checks that a tracked face is still a face
DETECTION_FACE_PX = 90
PRESENCE_FACE_PX = 100  # the crop is scaled so the face is this high: HOG finds faces from 80 px
TRACK_MIN_OVERLAP = 0.5
TRACK_REFIT_OVERLAP = 0.85
EDGE_FRAMES = 8  # early and late identity frames come from this many usable frames at each end
TOO_DARK_BRIGHTNESS = 50  # median mean grey level (0–255) under which we suggest more light
MAX_UNREADABLE_SHARE = 0.1
DIAGNOSE_EVERY = 10  # while no face is found, every 10th frame also tries upsample 1 (4× dearer)

RESULT_MESSAGES = {
    "success": N_("Your face matched the photo on file"),
    "no_face": N_("No face was seen: sit in front of the camera with your face inside the guide"),
    "several_faces": N_("More than one face was seen: make sure only you are in front of the camera"),
    "too_small": N_("Your face was too small in the picture: come closer to the camera"),
    "mismatch": N_("The face did not match the photo on file"),
    "review": N_("The match was not certain enough: staff will look at it"),
}
ERROR_MESSAGES = {
    "too_few_frames": N_("Too few pictures arrived from the camera: try again"),
    "too_many_frames": N_("Too many pictures arrived from the camera: try again"),
    "frame_too_large": N_("The pictures from the camera were too large: try again"),
    "unreadable_frames": N_("The pictures from the camera could not be read: try again"),
}
FACE_CHANGED = N_("The face changed during the check")
TOO_DARK = N_("The picture is too dark: turn on a light or sit facing a window")

Rect = tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class VerificationSettings:
    accept_distance: float
    review_distance: float
    same_person_distance: float
    min_face_height: int
    min_frames: int
    max_frames: int
    frame_max_bytes: int
    frame_max_pixels: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VerificationSettings:
        return cls(
            accept_distance=float(config["FACE_ACCEPT_DISTANCE"]),
            review_distance=float(config["FACE_REVIEW_DISTANCE"]),
            same_person_distance=float(config["FACE_SAME_PERSON_DISTANCE"]),
            min_face_height=int(config["FACE_MIN_HEIGHT_PX"]),
            min_frames=int(config["LIVENESS_MIN_FRAMES"]),
            max_frames=int(config["LIVENESS_MAX_FRAMES"]),
            frame_max_bytes=int(config["LIVENESS_FRAME_MAX_BYTES"]),
            frame_max_pixels=int(config["LIVENESS_FRAME_MAX_PIXELS"]),
        )

    def frame_limits(self) -> FaceLimits:
        return FaceLimits(self.frame_max_bytes, self.frame_max_pixels, self.min_face_height)


@dataclass
class VerificationResult:
    result: str  # success, no_face, several_faces, too_small, liveness_failed, mismatch, review, error
    message: str  # an N_-marked sentence for the person
    steps: tuple[str, ...]
    distance: float | None = None
    same_person_distance: float | None = None
    failed_step: str | None = None
    problem: str | None = None  # for result "error": what was wrong with the frames
    hints: list[str] = field(default_factory=list)
    liveness: dict[str, Any] | None = None
    frames_received: int = 0
    frames_used: int = 0
    frame_counts: dict[str, int] = field(default_factory=dict)
    searches: int = 0  # frames searched in full for faces; tracking covers the others
    chosen_frames: tuple[int, ...] = ()
    cpu_seconds: float = 0.0

    @property
    def success(self) -> bool:
        return self.result == "success"

    def details(self) -> dict[str, Any]:
        """Everything measured, JSON-ready, for the attempt record and the verify-frames command."""
        return {
            "result": self.result,
            "message": self.message,
            "steps": list(self.steps),
            "distance": None if self.distance is None else round(self.distance, 4),
            "same_person_distance": None
            if self.same_person_distance is None
            else round(self.same_person_distance, 4),
            "failed_step": self.failed_step,
            "problem": self.problem,
            "hints": list(self.hints),
            "liveness": self.liveness,
            "frames_received": self.frames_received,
            "frames_used": self.frames_used,
            "frame_counts": dict(self.frame_counts),
            "searches": self.searches,
            "chosen_frames": list(self.chosen_frames),
            "cpu_seconds": round(self.cpu_seconds, 3),
        }


@dataclass
class _Frame:
    status: str = "unreadable"  # face, no_face, too_small, several_faces, unreadable
    measure: FaceMeasure | None = None
    box: Rect | None = None
    brightness: float | None = None
    searched: bool = False  # the whole frame was searched for faces and held exactly one


class _Models:
    """dlib's detector, 68-point predictor and encoder, as face_recognition loaded them."""

    def __init__(self) -> None:
        api = require_face_models().api
        self.detector = api.face_detector
        self.landmarks68 = api.pose_predictor_68_point
        self.face_recognition = require_face_models()
        import dlib

        self.rectangle = dlib.rectangle

    def detect(self, image: np.ndarray, upsample: int = 0) -> list[Rect]:
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in self.detector(image, upsample)]

    def points(self, grey: np.ndarray, box: Rect) -> np.ndarray:
        left, top, right, bottom = (round(v) for v in box)
        shape = self.landmarks68(grey, self.rectangle(left, top, right, bottom))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def encoding(self, rgb: np.ndarray, box: Rect) -> np.ndarray:
        left, top, right, bottom = (round(v) for v in box)
        (encoding,) = self.face_recognition.face_encodings(
            rgb, known_face_locations=[(top, right, bottom, left)]
        )
        return np.asarray(encoding, dtype=np.float64)


def _bounds(points: np.ndarray) -> Rect:
    return (points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max())


def _overlap(a: Rect, b: Rect) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class _Tracker:
    """Places the next frame's face box from this frame's landmarks, as the detector would have."""

    def __init__(self, detected: Rect, points: np.ndarray) -> None:
        # The detector's box relative to the landmarks' extent, learnt on the detection frame.
        bounds = _bounds(points)
        width, height = bounds[2] - bounds[0], bounds[3] - bounds[1]
        self.offsets = (
            (detected[0] - bounds[0]) / width,
            (detected[1] - bounds[1]) / height,
            (detected[2] - bounds[2]) / width,
            (detected[3] - bounds[3]) / height,
        )
        self.points = points
        self.box = detected

    def box_for(self, points: np.ndarray) -> Rect:
        left, top, right, bottom = _bounds(points)
        width, height = right - left, bottom - top
        o = self.offsets
        return (left + o[0] * width, top + o[1] * height, right + o[2] * width, bottom + o[3] * height)


def _facing(points: np.ndarray) -> bool:
    jaw = points[16, 0] - points[0, 0]
    return jaw > 0 and FRONTAL_LOW <= (points[30, 0] - points[0, 0]) / jaw <= FRONTAL_HIGH


def _presence(models: _Models, grey: np.ndarray, box: Rect) -> int:
    """Faces HOG finds on a small crop around the tracked box (about 4 ms instead of 28 ms)."""
    left, top, right, bottom = box
    size = max(right - left, bottom - top)
    x0, y0 = max(0, int(left - size / 2)), max(0, int(top - size / 2))
    x1, y1 = min(grey.shape[1], int(right + size / 2)), min(grey.shape[0], int(bottom + size / 2))
    if x1 - x0 < 20 or y1 - y0 < 20:
        return 0
    crop = Image.fromarray(grey[y0:y1, x0:x1])
    scale = min(1.0, PRESENCE_FACE_PX / size)
    if scale < 1.0:
        crop = crop.resize(
            (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))), Image.Resampling.BILINEAR
        )
    return len(models.detect(np.asarray(crop)))


def _detect(models: _Models, grey: np.ndarray, min_face_height: int, upsample: int = 0) -> list[Rect]:
    """HOG boxes on a copy scaled so the smallest acceptable face is 90 px high, just above the 80 px
    HOG needs: every face that counts is found for about 16 ms per 640×480 frame instead of 28 ms."""
    scale = min(1.0, DETECTION_FACE_PX / min_face_height)
    small = Image.fromarray(grey)
    if scale < 1.0:
        small = small.resize(
            (round(small.width * scale), round(small.height * scale)), Image.Resampling.BILINEAR
        )
    boxes = models.detect(np.asarray(small), upsample)
    return [tuple(v / scale for v in box) for box in boxes]  # type: ignore[misc]


def _error(problem: str, steps: Sequence[str], received: int, started: float) -> VerificationResult:
    return VerificationResult(
        result="error",
        message=ERROR_MESSAGES[problem],
        steps=tuple(steps),
        problem=problem,
        frames_received=received,
        cpu_seconds=time.process_time() - started,
    )


def verify_session(
    frames: Sequence[bytes],
    reference: np.ndarray,
    steps: Sequence[str],
    settings: VerificationSettings,
) -> VerificationResult:
    """Decide one webcam session: liveness by the challenge steps in order, then identity."""
    started = time.process_time()
    steps = tuple(steps)
    received = len(frames)
    if received < settings.min_frames:
        return _error("too_few_frames", steps, received, started)
    if received > settings.max_frames:
        return _error("too_many_frames", steps, received, started)
    if any(len(data) > settings.frame_max_bytes for data in frames):
        return _error("frame_too_large", steps, received, started)

    models = _Models()
    limits = settings.frame_limits()
    observed: list[_Frame] = []
    tracker: _Tracker | None = None
    last_check = 0
    searching = 0
    searches = 0
    several = False
    for index, data in enumerate(frames):
        frame = _Frame()
        observed.append(frame)
        try:
            grey = load_grey_image(data, limits, draft_size=FRAME_SIZE)
        except ImageRejected as rejected:
            if rejected.reason == "too_many_pixels":
                return _error("frame_too_large", steps, received, started)
            continue
        frame.brightness = float(grey[::4, ::4].mean())

        if tracker is not None:
            box = tracker.box
            points = models.points(grey, box)
            new_box = tracker.box_for(points)
            overlap = _overlap(box, new_box)
            if TRACK_MIN_OVERLAP <= overlap < TRACK_REFIT_OVERLAP:
                # The face moved: landmarks fitted in last frame's box lag behind, so fit them again.
                box, points = new_box, models.points(grey, new_box)
                new_box = tracker.box_for(points)
                overlap = _overlap(box, new_box)
            # A box shrinking below the minimum is more often the tracker losing hold than the person
            # leaning back: a full search decides.
            lost = overlap < TRACK_MIN_OVERLAP or new_box[3] - new_box[1] < settings.min_face_height
            due = index - last_check
            # HOG misses strongly turned faces: during a turn challenge the check waits for the face to
            # come back towards the camera, but never longer than a second interval.
            if not lost and due >= PRESENCE_INTERVAL and (due >= 2 * PRESENCE_INTERVAL or _facing(points)):
                last_check = index
                found = _presence(models, grey, new_box)
                several = several or found > 1
                lost = found == 0
            if several:
                frame.status = "several_faces"
                break
            if not lost:
                tracker.points, tracker.box = points, new_box
                _record(frame, points, new_box, settings)
                continue
            tracker = None

        searches += 1
        boxes = _detect(models, grey, settings.min_face_height)
        if not boxes and searching % DIAGNOSE_EVERY == 0:
            boxes = _detect(models, grey, settings.min_face_height, upsample=1)
        searching = 0 if boxes else searching + 1
        if len(boxes) > 1:
            several = True
            frame.status = "several_faces"
            break
        if not boxes:
            frame.status = "no_face"
            continue
        (box,) = boxes
        frame.searched = True
        points = models.points(grey, box)
        if box[3] - box[1] >= settings.min_face_height:
            tracker = _Tracker(box, points)
            last_check = index
        _record(frame, points, box, settings)

    counts = {status: sum(f.status == status for f in observed) for status in _STATUSES}
    used = counts["face"]
    brightness = [f.brightness for f in observed if f.brightness is not None]
    hints = [TOO_DARK] if brightness and median(brightness) < TOO_DARK_BRIGHTNESS else []

    def finish(result: str, message: str, **values: Any) -> VerificationResult:
        return VerificationResult(
            result=result,
            message=message,
            steps=steps,
            hints=[] if result == "success" else hints,
            frames_received=received,
            frames_used=used,
            frame_counts=counts,
            searches=searches,
            cpu_seconds=time.process_time() - started,
            **values,
        )

    if several:
        return finish("several_faces", RESULT_MESSAGES["several_faces"])
    readable = received - counts["unreadable"]
    if counts["unreadable"] > MAX_UNREADABLE_SHARE * received:
        return _error("unreadable_frames", steps, received, started)
    if used * 2 < readable:
        missing = "too_small" if counts["too_small"] > counts["no_face"] else "no_face"
        return finish(missing, RESULT_MESSAGES[missing])

    measures = [f.measure for f in observed]
    outcome = check_challenges(measures, steps)
    chosen = choose_identity_frames(measures, outcome.baseline, outcome.events)
    encodings: list[np.ndarray] = []
    kept: list[int] = []
    for index in chosen:
        rgb = load_image(frames[index], limits, draft_size=FRAME_SIZE)
        if not observed[index].searched:
            grey = np.asarray(Image.fromarray(rgb).convert("L", matrix=DLIB_GREY))
            if len(_detect(models, grey, settings.min_face_height)) > 1:
                return finish("several_faces", RESULT_MESSAGES["several_faces"], chosen_frames=tuple(chosen))
        box = observed[index].box
        assert box is not None
        encodings.append(models.encoding(rgb, box))
        kept.append(index)

    distance = float(median(face_distance(e, reference) for e in encodings)) if encodings else None
    spread = max((face_distance(a, b) for a, b in itertools.combinations(encodings, 2)), default=None)
    values: dict[str, Any] = {
        "distance": distance,
        "same_person_distance": spread,
        "liveness": outcome.details(),
        "chosen_frames": tuple(kept),
    }
    if not outcome.passed:
        return finish(
            "liveness_failed", outcome.message or FACE_CHANGED, failed_step=outcome.failed_step, **values
        )
    if distance is None:
        return finish("no_face", RESULT_MESSAGES["no_face"], **values)
    if spread is not None and spread > settings.same_person_distance:
        return finish("liveness_failed", FACE_CHANGED, **values)
    if distance <= settings.accept_distance:
        return finish("success", RESULT_MESSAGES["success"], **values)
    if distance <= settings.review_distance:
        return finish("review", RESULT_MESSAGES["review"], **values)
    return finish("mismatch", RESULT_MESSAGES["mismatch"], **values)


_STATUSES = ("face", "no_face", "too_small", "several_faces", "unreadable")


def _record(frame: _Frame, points: np.ndarray, box: Rect, settings: VerificationSettings) -> None:
    frame.box = box
    if box[3] - box[1] < settings.min_face_height:
        frame.status = "too_small"
        return
    frame.status = "face"
    frame.measure = FaceMeasure.from_landmarks(points)


def choose_identity_frames(
    measures: Sequence[FaceMeasure | None], base: Baseline | None, events: Sequence[Event]
) -> list[int]:
    """Up to 3 frames looking straight at the camera: from the very start, from between the
    challenges (or the middle), and from the very end.

    The same 3 encodings then serve the identity match and show whether one person stayed in front
    of the camera from start to end, through the challenges.
    """
    centre = base.yaw if base else 0.5
    busy = {i for e in events for i in range(e.start - 1, e.end + 2)}

    def score(i: int) -> float:
        m = measures[i]
        assert m is not None
        value = abs(m.yaw - centre)
        if base is not None:
            value += abs(m.rigid / base.rigid - 1) + max(0.0, 0.9 - m.ear / base.ear)
            value += max(0.0, m.mar - base.mar - 0.1)
        return value

    candidates = [
        i
        for i, m in enumerate(measures)
        if m is not None and i not in busy and abs(m.yaw - centre) <= CENTRE_TOLERANCE
    ]
    if not candidates:
        return []
    early = min(candidates[:EDGE_FRAMES], key=score)
    late = min(candidates[-EDGE_FRAMES:], key=score)
    chosen = sorted({early, late})
    if len(events) > 1:
        middle = [i for i in candidates if events[0].end < i < events[-1].start]
    else:
        halfway = (early + late) / 2
        middle = sorted(candidates, key=lambda i: abs(i - halfway))[:EDGE_FRAMES]
    middle = [i for i in middle if all(abs(i - c) > 2 for c in chosen)]
    if middle:
        chosen.append(min(middle, key=score))
    return sorted(chosen)
