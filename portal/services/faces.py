"""Face images and 128-d encodings: safe decoding of untrusted bytes, one reference face per photo."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.services.face_models import require_face_models
from portal.services.messages import N_
from portal.services.validation import InvalidInput

ENCODING_SIZE = 128
ENCODING_DTYPE = np.dtype("<f8")
# Formats a camera, a phone or a scanner produces; anything else (PSD, EPS, ICO...) is refused.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF")
# Large photos are searched for a face on a reduced copy: HOG time grows with the pixel count.
DETECTION_MAX_SIDE = 1600

# dlib turns colour into grey as the plain mean of the channels, not as luma.
DLIB_GREY = (1 / 3, 1 / 3, 1 / 3, 0.0)

Box = tuple[int, int, int, int]  # top, right, bottom, left — face_recognition's order


@dataclass(frozen=True)
class FaceLimits:
    max_bytes: int
    max_pixels: int
    min_face_height: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FaceLimits:
        return cls(
            max_bytes=int(config["FACE_IMAGE_MAX_BYTES"]),
            max_pixels=int(config["FACE_IMAGE_MAX_PIXELS"]),
            min_face_height=int(config["FACE_MIN_HEIGHT_PX"]),
        )


class ImageRejected(InvalidInput):
    """The bytes are not an image this service can use; `reason` is a stable code, `message` says why."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "empty": N_("The file is empty: choose a photo"),
        "too_many_bytes": N_("The file is too large: choose a smaller photo"),
        "not_an_image": N_("The file is not a photo: choose a JPEG or PNG picture"),
        "unsupported_format": N_("This kind of picture cannot be used: choose a JPEG or PNG photo"),
        "corrupt": N_("The photo is damaged or incomplete: take or choose it again"),
        "too_many_pixels": N_("The picture has too many pixels: choose a smaller photo"),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


class FaceRejected(InvalidInput):
    """The photo is readable but does not show exactly one usable face."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "no_face": N_("No face was found in the photo: use a clear, well-lit photo of the face"),
        "several_faces": N_("More than one face is in the photo: use a photo of one person only"),
        "too_small": N_("The face in the photo is too small: use a closer photo of the face"),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


def load_image(data: bytes, limits: FaceLimits, *, draft_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode untrusted bytes into a contiguous RGB uint8 array, upright as the camera saw it.

    `draft_size` lets JPEG decoding skip work (Pillow's draft mode) when an image about that size will do.
    """
    return _decode(data, limits, "RGB", draft_size)


def load_grey_image(
    data: bytes, limits: FaceLimits, *, draft_size: tuple[int, int] | None = None
) -> np.ndarray:
    """Like load_image, as one 8-bit channel (R+G+B)/3: what dlib's detector and landmark models were
    trained on. JPEG luma would be cheaper to decode but moves the eye landmarks (EAR 13 % lower)."""
    return _decode(data, limits, "L", draft_size)


def _decode(data: bytes, limits: FaceLimits, mode: str, draft_size: tuple[int, int] | None) -> np.ndarray:
    if not data:
        raise ImageRejected("empty")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_many_bytes")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; our own limit is stricter anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open_checked(data, limits)
            if image.format == "PNG":
                # Only the PNG plugin's verify() checks anything (chunk CRCs); it leaves the file unusable.
                image.verify()
                image = _open_checked(data, limits)
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", draft_size)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            pixels = _to_rgb(image) if mode == "RGB" else _to_grey(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_many_pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image") from None
    except MemoryError:
        raise
    except Exception:
        # Decoders of damaged files raise OSError, SyntaxError, ValueError, struct.error, EOFError...
        # whichever it is, the answer to the person is the same.
        raise ImageRejected("corrupt") from None
    return np.ascontiguousarray(pixels, dtype=np.uint8)


def _open_checked(data: bytes, limits: FaceLimits) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected("unsupported_format")
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageRejected("corrupt")
    if width * height > limits.max_pixels:
        raise ImageRejected("too_many_pixels")
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image)
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit and float greys: Pillow's own conversion clips them to white instead of scaling.
        grey = np.asarray(image, dtype=np.float64)
        low, high = float(grey.min()), float(grey.max())
        scaled = (grey - low) * (255.0 / (high - low)) if high > low else np.zeros_like(grey)
        return np.repeat(scaled.round().astype(np.uint8)[:, :, None], 3, axis=2)
    if mode in ("P", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        # Transparent parts become white, as the photo looks on a page.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image.convert("RGBA"))
        image = background
    try:
        return np.asarray(image.convert("RGB"))
    except ValueError:
        # Pillow has no conversion for some modes (LAB, HSV): not something a camera sends.
        raise ImageRejected("unsupported_format") from None


def _to_grey(image: Image.Image) -> np.ndarray:
    if image.mode == "L":
        return np.asarray(image)
    if image.mode != "RGB":
        image = Image.fromarray(_to_rgb(image))
    return np.asarray(image.convert("L", matrix=DLIB_GREY))


def detect_faces(image: np.ndarray) -> list[Box]:
    """HOG face boxes: upsample 0 first, then 1 only when nothing was found (4× slower)."""
    face_recognition = require_face_models()
    for upsample in (0, 1):
        boxes = face_recognition.face_locations(image, number_of_times_to_upsample=upsample, model="hog")
        if boxes:
            return [tuple(int(v) for v in box) for box in boxes]  # type: ignore[misc]
    return []


def _detect_reduced(image: np.ndarray) -> list[Box]:
    height, width = image.shape[:2]
    scale = DETECTION_MAX_SIDE / max(height, width)
    if scale >= 1:
        return detect_faces(image)
    small = np.asarray(
        Image.fromarray(image).resize(
            (round(width * scale), round(height * scale)), Image.Resampling.BILINEAR
        )
    )
    boxes = detect_faces(np.ascontiguousarray(small))
    return [
        (
            max(0, round(top / scale)),
            min(width, round(right / scale)),
            min(height, round(bottom / scale)),
            max(0, round(left / scale)),
        )
        for top, right, bottom, left in boxes
    ]


def single_face(image: np.ndarray, limits: FaceLimits) -> Box:
    """The one face of a photo, or FaceRejected saying what is wrong."""
    boxes = _detect_reduced(image)
    if not boxes:
        raise FaceRejected("no_face")
    if len(boxes) > 1:
        raise FaceRejected("several_faces")
    top, _right, bottom, _left = boxes[0]
    if bottom - top < limits.min_face_height:
        raise FaceRejected("too_small")
    return boxes[0]


def encode_face(image: np.ndarray, box: Box) -> np.ndarray:
    face_recognition = require_face_models()
    (encoding,) = face_recognition.face_encodings(image, known_face_locations=[box])
    return np.asarray(encoding, dtype=np.float64)


def reference_encoding(image: np.ndarray, limits: FaceLimits) -> np.ndarray:
    """The 128-d encoding of the only face in a reference photo."""
    return encode_face(image, single_face(image, limits))


def encode_reference_photo(data: bytes, limits: FaceLimits) -> np.ndarray:
    """Bytes of a reference photo to its encoding; top-level so a ProcessPoolExecutor can run it."""
    return reference_encoding(load_image(data, limits), limits)


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def encoding_to_bytes(encoding: np.ndarray) -> bytes:
    array = np.asarray(encoding, dtype=ENCODING_DTYPE)
    if array.shape != (ENCODING_SIZE,):
        raise ValueError(f"a face encoding has {ENCODING_SIZE} numbers, not shape {array.shape}")
    return array.tobytes()


def encoding_from_bytes(data: bytes) -> np.ndarray:
    if len(data) != ENCODING_SIZE * ENCODING_DTYPE.itemsize:
        raise ValueError(f"a stored face encoding is {ENCODING_SIZE * 8} bytes, not {len(data)}")
    return np.frombuffer(data, dtype=ENCODING_DTYPE).astype(np.float64)
