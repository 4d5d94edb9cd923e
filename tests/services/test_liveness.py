from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from portal.services.liveness import (
    NO_BASELINE,
    NOT_DONE,
    STEPS,
    WRONG_ORDER,
    FaceMeasure,
    baseline,
    check_challenges,
    find_blink,
    issue_challenge,
    parse_challenges,
)

NOW = datetime(2026, 3, 22, 9, 30, tzinfo=UTC)
OPEN = FaceMeasure(ear=0.30, mar=0.10, yaw=0.50, rigid=0.45)


def frame(**changes: float) -> FaceMeasure:
    values = {"ear": OPEN.ear, "mar": OPEN.mar, "yaw": OPEN.yaw, "rigid": OPEN.rigid, **changes}
    return FaceMeasure(**values)


def still(count: int, **changes: float) -> list[FaceMeasure | None]:
    return [frame(**changes) for _ in range(count)]


def blink(ear0: float = OPEN.ear) -> list[FaceMeasure | None]:
    """Open, half, closed, closed, half, open: how a blink looks at 15 frames a second."""
    return [frame(ear=ear0 * f) for f in (1.0, 0.65, 0.45, 0.45, 0.65, 1.0)]


def turn(peak: float, through: tuple[float, ...] = (0.6, 0.64)) -> list[FaceMeasure | None]:
    side = 1 if peak > 0.5 else -1
    out = [0.5 + side * (abs(v - 0.5)) for v in through]
    return [frame(yaw=v) for v in (*out, peak, peak, *reversed(out), 0.5)]


def mouth(widest: float = 0.6) -> list[FaceMeasure | None]:
    return [frame(mar=v) for v in (0.25, widest, widest, widest, 0.25, 0.1)]


# Challenges


def test_a_challenge_has_two_different_steps_and_expires_after_90_seconds():
    challenge = issue_challenge(NOW, random.Random(7))
    assert len(challenge.steps) == 2 and len(set(challenge.steps)) == 2
    assert set(challenge.steps) <= set(STEPS)
    assert challenge.expires_at - challenge.issued_at == timedelta(seconds=90)
    assert not challenge.expired(NOW + timedelta(seconds=89))
    assert challenge.expired(NOW + timedelta(seconds=90))


def test_challenges_are_random_and_nonces_unique():
    rng = random.Random(1)
    challenges = [issue_challenge(NOW, rng) for _ in range(40)]
    assert len({c.steps for c in challenges}) > 5
    assert len({c.nonce for c in challenges}) == 40
    assert all(len(c.nonce) >= 32 for c in challenges)


def test_fixed_challenges_come_from_the_setting():
    assert issue_challenge(NOW, fixed=parse_challenges("blink")).steps == ("blink",)
    assert parse_challenges("blink, turn_left") == ("blink", "turn_left")
    assert parse_challenges(["open_mouth"]) == ("open_mouth",)
    assert parse_challenges(None) is None and parse_challenges("") is None


@pytest.mark.parametrize("value", ["wink", "blink,blink", ","])
def test_a_bad_challenge_setting_is_refused(value):
    with pytest.raises(ValueError, match="LIVENESS_CHALLENGES"):
        parse_challenges(value)


def test_the_setting_reaches_the_app_from_the_environment(monkeypatch, tmp_path):
    from portal import create_app

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_LIVENESS_CHALLENGES", "blink")
    app = create_app({"SECRET_KEY": "x"})
    assert parse_challenges(app.config["LIVENESS_CHALLENGES"]) == ("blink",)


# Measures from landmarks


@pytest.fixture(scope="module")
def clip_landmarks() -> list[np.ndarray]:
    """68 landmarks of each frame of the recorded blink clip, as the verifier measures them."""
    from PIL import Image

    from portal.services.face_models import require_face_models
    from portal.services.faces import DLIB_GREY
    from tests.conftest import FACES

    clip = FACES / "clips" / "blink-640x480"
    if not clip.is_dir():
        pytest.skip(f"the shared face photos are not at {FACES}")
    api = require_face_models().api
    landmarks = []
    box = None
    for path in sorted(Path(clip).glob("f*.jpg")):
        with Image.open(path) as image:
            grey = np.asarray(image.convert("RGB").convert("L", matrix=DLIB_GREY))
        if box is None:
            (box,) = api.face_detector(grey, 0)  # the face does not move in this clip
        shape = api.pose_predictor_68_point(grey, box)
        landmarks.append(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64))
    return landmarks


def test_the_recorded_blink_clip_measures_as_a_blink(clip_landmarks):
    measures = [FaceMeasure.from_landmarks(points) for points in clip_landmarks]
    base = baseline(measures)
    assert base is not None and 0.2 < base.ear < 0.3 and 0.45 < base.yaw < 0.55
    event = find_blink(measures, base)
    assert event is not None
    assert (event.start, event.end) == (15, 19)  # f015 half closed … f019 half closed
    assert check_challenges(measures, ["blink"]).passed


def test_a_photo_tilted_back_is_not_a_blink(clip_landmarks):
    """Tilting a photo squashes it vertically: eye ratio and rigid ratio drop together."""
    open_eyes = clip_landmarks[0]
    centre_y = open_eyes[:, 1].mean()
    sequence = []
    for squash in [1.0] * 6 + [0.85, 0.7, 0.65, 0.7, 0.85] + [1.0] * 6:
        points = open_eyes.copy()
        points[:, 1] = centre_y + (points[:, 1] - centre_y) * squash
        sequence.append(FaceMeasure.from_landmarks(points))
    assert min(m.ear for m in sequence) <= 0.75 * sequence[0].ear, "the eyes did look closed"
    outcome = check_challenges(sequence, ["blink"])
    assert not outcome.passed and outcome.message == NOT_DONE["blink"]


def test_eyelids_closing_alone_is_a_blink(clip_landmarks):
    open_eyes = clip_landmarks[0]
    sequence = []
    for squash in [1.0] * 6 + [0.6, 0.3, 0.3, 0.6] + [1.0] * 6:
        points = open_eyes.copy()
        for eye in (range(36, 42), range(42, 48)):
            rows = list(eye)
            centre = points[rows, 1].mean()
            points[rows, 1] = centre + (points[rows, 1] - centre) * squash
        sequence.append(FaceMeasure.from_landmarks(points))
    assert check_challenges(sequence, ["blink"]).passed


# The rules on measure sequences


def test_a_still_sequence_passes_no_challenge():
    for step in STEPS:
        outcome = check_challenges(still(45), [step])
        assert not outcome.passed
        assert outcome.failed_step == step and outcome.message == NOT_DONE[step]


def test_blink_turns_and_mouth_in_the_order_asked_pass():
    sequence = [
        *still(6),
        *blink(),
        *still(3),
        *turn(0.75),
        *still(3),
        *turn(0.25),
        *still(3),
        *mouth(),
        *still(3),
    ]
    outcome = check_challenges(sequence, ["blink", "turn_left", "turn_right", "open_mouth"])
    assert outcome.passed, outcome.message
    assert [e.step for e in outcome.events] == ["blink", "turn_left", "turn_right", "open_mouth"]
    starts = [e.start for e in outcome.events]
    assert starts == sorted(starts)
    left = outcome.events[1].measurements
    assert left["peak_r"] == 0.75 and left["limit"] == 0.67 and left["frames_between"] == 2


def test_challenges_in_the_wrong_order_fail():
    sequence = [*still(6), *turn(0.75), *still(3), *blink(), *still(3)]
    outcome = check_challenges(sequence, ["blink", "turn_left"])
    assert not outcome.passed
    assert outcome.failed_step == "turn_left" and outcome.message == WRONG_ORDER
    assert check_challenges(sequence, ["turn_left", "blink"]).passed


def test_a_blink_needs_open_eyes_before_and_after():
    closed_to_the_end = [*still(6), frame(ear=0.12), frame(ear=0.12)]
    assert not check_challenges(closed_to_the_end, ["blink"]).passed


def test_eyes_closed_too_long_are_not_a_blink():
    sequence = [*still(6), *still(16, ear=0.12), *still(4)]
    assert not check_challenges(sequence, ["blink"]).passed
    sequence = [*still(6), *still(15, ear=0.12), *still(4)]
    assert check_challenges(sequence, ["blink"]).passed


def test_a_blink_is_judged_against_the_persons_own_open_eyes():
    # An older face whose open eyes measure only 0.165: a fixed limit of 0.2 would see a constant
    # "blink"; measured against EAR0 it sees none, until the eyes really close.
    open_only = still(30, ear=0.165)
    assert not check_challenges(open_only, ["blink"]).passed
    with_blink = [*still(8, ear=0.165), *blink(ear0=0.165), *still(8, ear=0.165)]
    outcome = check_challenges(with_blink, ["blink"])
    assert outcome.passed
    assert outcome.events[0].measurements["ear0"] == 0.165
    assert outcome.events[0].measurements["closed_below"] == pytest.approx(0.1238, abs=1e-4)
    # Eyes wide open (0.40) dropping to 0.28 is a blink for that person, not for the default 0.30.
    wide = [*still(8, ear=0.40), *still(2, ear=0.28), *still(8, ear=0.40)]
    assert check_challenges(wide, ["blink"]).passed


def test_a_head_turn_must_pass_through_frames_in_between():
    swapped_photo = [*still(6), *still(3, yaw=0.75), *still(6)]
    outcome = check_challenges(swapped_photo, ["turn_left"])
    assert not outcome.passed and outcome.message == NOT_DONE["turn_left"]
    assert check_challenges([*still(6), *turn(0.75, through=(0.6,)), *still(3)], ["turn_left"]).passed


def test_a_head_turn_must_come_back_to_the_centre():
    sequence = [*still(6), frame(yaw=0.6), frame(yaw=0.64), *still(8, yaw=0.75)]
    assert not check_challenges(sequence, ["turn_left"]).passed


def test_a_turn_not_far_enough_fails():
    assert not check_challenges([*still(6), *turn(0.65), *still(3)], ["turn_left"]).passed
    assert not check_challenges([*still(6), *turn(0.35), *still(3)], ["turn_right"]).passed


def test_left_and_right_are_not_confused():
    sequence = [*still(6), *turn(0.75), *still(3)]
    assert check_challenges(sequence, ["turn_left"]).passed
    assert not check_challenges(sequence, ["turn_right"]).passed


def test_someone_sitting_sideways_must_turn_further_than_the_fixed_limit():
    # Centre 0.60: reaching 0.68 is only 0.08 of a turn, not a head turn.
    side = [*still(6, yaw=0.6), frame(yaw=0.64), frame(yaw=0.68), frame(yaw=0.64), *still(4, yaw=0.6)]
    assert not check_challenges(side, ["turn_left"]).passed


def test_an_open_mouth_must_last_two_frames_and_beat_the_baseline():
    one_frame = [*still(6), frame(mar=0.6), *still(4)]
    assert not check_challenges(one_frame, ["open_mouth"]).passed
    assert check_challenges([*still(6), *mouth(), *still(3)], ["open_mouth"]).passed
    # A mouth that is open from the start (a photo of someone talking) must open further still.
    talking = [*still(8, mar=0.5), *still(3, mar=0.6), *still(4, mar=0.5)]
    assert not check_challenges(talking, ["open_mouth"]).passed
    assert check_challenges(
        [*still(8, mar=0.5), *still(3, mar=0.8), *still(4, mar=0.5)], ["open_mouth"]
    ).passed


def test_missing_frames_break_a_blink_and_no_frontal_start_fails_with_advice():
    gap = [*still(6), frame(ear=0.12), None, *still(4)]
    assert not check_challenges(gap, ["blink"]).passed
    outcome = check_challenges([None, None, *still(10, yaw=0.8)], ["blink"])
    assert not outcome.passed and outcome.baseline is None and outcome.message == NO_BASELINE


def test_the_baseline_ignores_a_blink_among_the_first_frames():
    sequence = [frame(), frame(ear=0.1), frame(), frame(), frame()]
    base = baseline(sequence)
    assert base is not None and base.ear == OPEN.ear and base.frames == (0, 1, 2, 3, 4)


def test_outcome_details_are_json_ready():
    import json

    outcome = check_challenges([*still(6), *blink(), *still(3)], ["blink"])
    details = json.loads(json.dumps(outcome.details()))
    assert details["passed"] is True
    assert details["challenges"][0]["step"] == "blink"
    assert details["challenges"][0]["frames"] == [7, 10]
    assert details["baseline"]["ear0"] == 0.3
