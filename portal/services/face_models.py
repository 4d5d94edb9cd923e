"""Start-up guard for the face stack.

face_recognition calls quit() when its models package cannot be imported, which ends the whole
process with status 0 and no error; this turns that into an exception that says what to install.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType


class FaceModelsUnavailable(RuntimeError):
    pass


@cache
def require_face_models() -> ModuleType:
    try:
        import face_recognition_models  # noqa: F401
    except ImportError as error:
        raise FaceModelsUnavailable(
            "The face models cannot be loaded: install face_recognition_models==0.3.0 and "
            "setuptools<82 from requirements.txt (run `make run` or `make test`)."
        ) from error
    try:
        import face_recognition
    except SystemExit as error:
        raise FaceModelsUnavailable(
            "face_recognition could not load its models and tried to exit; reinstall requirements.txt."
        ) from error
    except ImportError as error:
        raise FaceModelsUnavailable(
            f"The face stack cannot be imported ({error}); run `make run` or `make test` to install it."
        ) from error
    # face_recognition switches on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, which would let
    # a half-uploaded JPEG through as a grey-bottomed photo; truncated uploads must be refused instead.
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return face_recognition
