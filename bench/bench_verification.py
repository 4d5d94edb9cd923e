"""Face verification: one 60-frame 640×480 session must take under 0.6 s of CPU on one core.

The session is the shared 30-frame blink clip played forwards then backwards (two blinks), verified
against people/obama/obama.jpg with the challenge "blink". The naive approach — HOG detection at
upsample 1 and a face encoding on every frame — is measured in the same run for comparison, as are a
replayed still photo and 60 frames without a face (the dearest failure: detection on every frame).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT.parent / "shared" / "faces"
RUNS = 5
TARGET_SECONDS = 0.6


def cpu_seconds(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> None:
    from portal.config import DefaultConfig
    from portal.services.face_models import require_face_models
    from portal.services.faces import FaceLimits, encode_reference_photo, face_distance, load_image
    from portal.services.verification import VerificationSettings, verify_session

    if not FACES.is_dir():
        print(f"skipped: the shared face photos are not at {FACES}")
        return
    config = {name: getattr(DefaultConfig, name) for name in dir(DefaultConfig) if name.isupper()}
    settings = VerificationSettings.from_config(config)
    limits = FaceLimits.from_config(config)
    face_recognition = require_face_models()

    reference = encode_reference_photo((FACES / "people/obama/obama.jpg").read_bytes(), limits)
    clip = [path.read_bytes() for path in sorted((FACES / "clips/blink-640x480").glob("f*.jpg"))]
    session = clip + clip[::-1]
    still = [clip[0]] * 60
    blank_buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (150, 150, 150)).save(blank_buffer, "JPEG", quality=85)
    blank = [blank_buffer.getvalue()] * 60

    verify_session(session, reference, ["blink"], settings)  # models and caches warm
    results = [verify_session(session, reference, ["blink"], settings) for _ in range(RUNS)]
    verdicts = {r.result for r in results}
    times = [r.cpu_seconds for r in results]
    still_result = verify_session(still, reference, ["blink"], settings)
    blank_result = verify_session(blank, reference, ["blink"], settings)

    def naive() -> float:
        distances = []
        for data in session:
            image = load_image(data, limits)
            boxes = face_recognition.face_locations(image, number_of_times_to_upsample=1)
            face_recognition.face_landmarks(image, boxes)
            distances += [face_distance(e, reference) for e in face_recognition.face_encodings(image, boxes)]
        return statistics.median(distances)

    naive_distance: list[float] = []
    naive_seconds = cpu_seconds(lambda: naive_distance.append(naive()))

    median = statistics.median(times)
    print(f"session: {len(session)} frames of 640×480 (blink clip forwards then backwards), challenge blink")
    print(f"verifier, {RUNS} runs: verdict {', '.join(sorted(verdicts))}, distance {results[0].distance:.3f}")
    print(f"  CPU seconds: median {median:.3f}, min {min(times):.3f}, max {max(times):.3f}")
    print(f"  per frame:   {median / len(session) * 1000:.1f} ms")
    print(f"naive (HOG upsample 1 + encoding on every frame): {naive_seconds:.2f} s CPU,")
    print(f"  median distance {naive_distance[0]:.3f}; {naive_seconds / median:.0f}× the verifier")
    print(f"still photo replayed, 60 frames: {still_result.result} in {still_result.cpu_seconds:.3f} s CPU")
    print(f"60 frames without a face: {blank_result.result} in {blank_result.cpu_seconds:.3f} s CPU")
    verdict = "met" if median < TARGET_SECONDS else "NOT MET"
    print(f"target: under {TARGET_SECONDS} s CPU per 60-frame session — {verdict}")


if __name__ == "__main__":
    main()
