"""Liveness challenges and the rules that decide, from 68 face landmarks per frame, whether they were done.

Pure functions on numbers (DESIGN.md §4): no images, no dlib, no clock of their own. "Left" and "right"
are the person's own left and right, measured on frames as the camera sends them (not mirrored): turning
to one's left moves the nose towards the right edge of the frame.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import numpy as np

from portal.services.messages import N_

STEPS = ("blink", "turn_left", "turn_right", "open_mouth")
CHALLENGE_LIFETIME = timedelta(seconds=90)
CHALLENGE_STEPS = 2

# The rules of DESIGN.md §4, relative to each person's own baseline.
BLINK_EAR_FACTOR = 0.75  # closed: EAR ≤ 0.75·EAR0
BLINK_RIGID_TOLERANCE = 0.10  # while closed, R stays within ±10 % of R0: a tilted photo moves both
BLINK_MAX_FRAMES = 15
TURN_LEFT_RATIO = 0.67
TURN_RIGHT_RATIO = 0.33
TURN_MIN_SWING = 0.12  # beyond the person's own centre, for someone who sits a little sideways
CENTRE_TOLERANCE = 0.08
MOUTH_MIN_RATIO = 0.45
MOUTH_OVER_BASELINE = 0.25
MOUTH_MIN_FRAMES = 2
# Baseline: the first frames that look at the camera.
BASELINE_FRAMES = 5
BASELINE_MIN_FRAMES = 3
FRONTAL_LOW, FRONTAL_HIGH = 0.35, 0.65

NOT_DONE = {
    "blink": N_("You did not blink"),
    "turn_left": N_("You did not turn your head to the left and back"),
    "turn_right": N_("You did not turn your head to the right and back"),
    "open_mouth": N_("You did not open your mouth"),
}
WRONG_ORDER = N_("The actions were not done in the order asked")
NO_BASELINE = N_("Look straight at the camera when the check starts")


@dataclass(frozen=True)
class Challenge:
    nonce: str
    steps: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def parse_challenges(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """The LIVENESS_CHALLENGES setting ("blink,turn_left" or a list) as steps; None when unset."""
    if value is None or value == "":
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    steps = tuple(str(name).strip() for name in names if str(name).strip())
    unknown = [step for step in steps if step not in STEPS]
    if unknown or not steps:
        raise ValueError(f"LIVENESS_CHALLENGES must name steps from {', '.join(STEPS)}; got {value!r}")
    if len(set(steps)) != len(steps):
        raise ValueError(f"LIVENESS_CHALLENGES names a step twice: {value!r}")
    return steps


def issue_challenge(
    now: datetime, rng: random.Random | None = None, fixed: Sequence[str] | None = None
) -> Challenge:
    """A one-time challenge: 2 different random steps (or the fixed ones), valid for 90 seconds."""
    if fixed:
        steps = parse_challenges(list(fixed)) or ()
    else:
        steps = tuple((rng or random.SystemRandom()).sample(STEPS, CHALLENGE_STEPS))
    return Challenge(
        nonce=secrets.token_urlsafe(24),
        steps=steps,
        issued_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )


@dataclass(frozen=True)
class FaceMeasure:
    """Ratios of one frame's 68 landmarks (iBUG numbering), all independent of the face's size."""

    ear: float  # eye aspect ratio, both eyes averaged
    mar: float  # inner-lip opening over mouth width
    yaw: float  # r = (x30 − x0) / (x16 − x0): where the nose tip sits between the jaw edges
    rigid: float  # R = |p27 − p30| / |p36 − p45|: nose bridge over eye span, which a blink barely moves

    @classmethod
    def from_landmarks(cls, points: np.ndarray) -> FaceMeasure:
        p = np.asarray(points, dtype=np.float64)

        def dist(a: int, b: int) -> float:
            return float(np.hypot(*(p[a] - p[b])))

        def eye(first: int) -> float:
            e = first
            return (dist(e + 1, e + 5) + dist(e + 2, e + 4)) / (2 * max(dist(e, e + 3), 1e-6))

        jaw_width = p[16, 0] - p[0, 0]
        return cls(
            ear=(eye(36) + eye(42)) / 2,
            mar=(dist(61, 67) + dist(62, 66) + dist(63, 65)) / (3 * max(dist(60, 64), 1e-6)),
            yaw=float((p[30, 0] - p[0, 0]) / jaw_width) if abs(jaw_width) > 1e-6 else 0.5,
            rigid=dist(27, 30) / max(dist(36, 45), 1e-6),
        )

    def frontal(self) -> bool:
        return FRONTAL_LOW <= self.yaw <= FRONTAL_HIGH


@dataclass(frozen=True)
class Baseline:
    ear: float  # EAR0
    mar: float  # MAR0
    yaw: float  # r0
    rigid: float  # R0
    frames: tuple[int, ...]


def baseline(measures: Sequence[FaceMeasure | None]) -> Baseline | None:
    """Medians over the first frontal frames, so one blink among them does not shift them."""
    chosen = [i for i, m in enumerate(measures) if m is not None and m.frontal()][:BASELINE_FRAMES]
    if len(chosen) < BASELINE_MIN_FRAMES:
        return None
    picked = [measures[i] for i in chosen]
    return Baseline(
        ear=median(m.ear for m in picked if m),
        mar=median(m.mar for m in picked if m),
        yaw=median(m.yaw for m in picked if m),
        rigid=median(m.rigid for m in picked if m),
        frames=tuple(chosen),
    )


@dataclass(frozen=True)
class Event:
    """Where a challenge step was seen: frames `start`..`end` (inclusive) and what was measured."""

    step: str
    start: int
    end: int
    measurements: dict[str, Any] = field(default_factory=dict)


def find_blink(measures: Sequence[FaceMeasure | None], base: Baseline, start: int = 0) -> Event | None:
    closed_below = BLINK_EAR_FACTOR * base.ear
    i = start
    while i < len(measures):
        m = measures[i]
        if m is None or m.ear > closed_below:
            i += 1
            continue
        end = i
        while end + 1 < len(measures) and (n := measures[end + 1]) is not None and n.ear <= closed_below:
            end += 1
        run = [m for m in measures[i : end + 1] if m is not None]
        before = measures[i - 1] if i > start else None
        after = measures[end + 1] if end + 1 < len(measures) else None
        rigid_change = max(abs(m.rigid / base.rigid - 1) for m in run)
        if (
            end - i + 1 <= BLINK_MAX_FRAMES
            and rigid_change <= BLINK_RIGID_TOLERANCE
            and before is not None
            and after is not None
        ):
            return Event(
                "blink",
                i,
                end,
                {
                    "ear0": round(base.ear, 4),
                    "closed_below": round(closed_below, 4),
                    "lowest_ear": round(min(m.ear for m in run), 4),
                    "closed_frames": end - i + 1,
                    "rigid_change": round(rigid_change, 4),
                },
            )
        i = end + 1
    return None


def _turn_limit(step: str, base: Baseline) -> float:
    if step == "turn_left":
        return max(TURN_LEFT_RATIO, base.yaw + TURN_MIN_SWING)
    return min(TURN_RIGHT_RATIO, base.yaw - TURN_MIN_SWING)


def find_turn(
    step: str, measures: Sequence[FaceMeasure | None], base: Baseline, start: int = 0
) -> Event | None:
    """From the centre, through at least one frame in between, past the limit, and back to the centre."""
    limit = _turn_limit(step, base)
    sign = 1.0 if step == "turn_left" else -1.0

    def offset(m: FaceMeasure) -> float:
        return sign * (m.yaw - base.yaw)

    reach = sign * (limit - base.yaw)
    centre: int | None = None
    between = 0
    for i in range(start, len(measures)):
        m = measures[i]
        if m is None:
            continue
        if abs(m.yaw - base.yaw) <= CENTRE_TOLERANCE:
            centre, between = i, 0
        elif offset(m) >= reach:
            if centre is not None and between >= 1:
                back = next(
                    (
                        j
                        for j in range(i + 1, len(measures))
                        if (n := measures[j]) is not None and abs(n.yaw - base.yaw) <= CENTRE_TOLERANCE
                    ),
                    None,
                )
                if back is None:
                    return None
                peak = [n.yaw for n in measures[i:back] if n is not None]
                return Event(
                    step,
                    centre + 1,
                    back,
                    {
                        "r0": round(base.yaw, 4),
                        "limit": round(limit, 4),
                        "peak_r": round(max(peak) if sign > 0 else min(peak), 4),
                        "frames_between": between,
                    },
                )
            # A jump straight from the centre to a turned face is a swapped photo, not a head turn.
            centre, between = None, 0
        elif offset(m) > 0 and centre is not None:
            between += 1
        else:
            centre, between = None, 0
    return None


def find_open_mouth(measures: Sequence[FaceMeasure | None], base: Baseline, start: int = 0) -> Event | None:
    wide = max(MOUTH_MIN_RATIO, base.mar + MOUTH_OVER_BASELINE)
    run_start: int | None = None
    for i in range(start, len(measures) + 1):
        m = measures[i] if i < len(measures) else None
        if m is not None and m.mar >= wide:
            run_start = i if run_start is None else run_start
            continue
        if run_start is not None and i - run_start >= MOUTH_MIN_FRAMES:
            run = [n.mar for n in measures[run_start:i] if n is not None]
            return Event(
                "open_mouth",
                run_start,
                i - 1,
                {"mar0": round(base.mar, 4), "open_above": round(wide, 4), "widest": round(max(run), 4)},
            )
        run_start = None
    return None


def find_event(
    step: str, measures: Sequence[FaceMeasure | None], base: Baseline, start: int = 0
) -> Event | None:
    if step == "blink":
        return find_blink(measures, base, start)
    if step in ("turn_left", "turn_right"):
        return find_turn(step, measures, base, start)
    if step == "open_mouth":
        return find_open_mouth(measures, base, start)
    raise ValueError(f"unknown challenge step {step!r}")


@dataclass(frozen=True)
class LivenessOutcome:
    passed: bool
    baseline: Baseline | None
    events: tuple[Event, ...]
    failed_step: str | None = None
    # An N_-marked sentence saying what went wrong, for the person; None when passed.
    message: str | None = None

    def details(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed_step": self.failed_step,
            "baseline": None
            if self.baseline is None
            else {
                "ear0": round(self.baseline.ear, 4),
                "mar0": round(self.baseline.mar, 4),
                "r0": round(self.baseline.yaw, 4),
                "rigid0": round(self.baseline.rigid, 4),
                "frames": list(self.baseline.frames),
            },
            "challenges": [
                {"step": e.step, "frames": [e.start, e.end], **e.measurements} for e in self.events
            ],
        }


def check_challenges(measures: Sequence[FaceMeasure | None], steps: Sequence[str]) -> LivenessOutcome:
    """Each step, in the order issued, each one after the end of the one before."""
    base = baseline(measures)
    if base is None:
        return LivenessOutcome(False, None, (), steps[0] if steps else None, NO_BASELINE)
    events: list[Event] = []
    cursor = 0
    for step in steps:
        event = find_event(step, measures, base, cursor)
        if event is None:
            done_earlier = cursor > 0 and find_event(step, measures, base, 0) is not None
            return LivenessOutcome(
                False, base, tuple(events), step, WRONG_ORDER if done_earlier else NOT_DONE[step]
            )
        events.append(event)
        cursor = event.end + 1
    return LivenessOutcome(True, base, tuple(events))
