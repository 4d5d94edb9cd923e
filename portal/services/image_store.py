"""Face images encrypted at rest (Fernet), in files under a folder shared by every app server."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


class ImageStoreError(RuntimeError):
    """The store or its key cannot be used; the message says what to check."""


class ImageNotFound(KeyError):
    pass


def load_or_create_key(path: Path) -> bytes:
    """The Fernet key in `path`, created (mode 0600) the first time; safe when processes race."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(Fernet.generate_key())
                file.flush()
                os.fsync(file.fileno())
            # link() never replaces an existing file: the first process to get here wins and every
            # other one reads the winner's key, so no image is ever encrypted with a lost key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise ImageStoreError(f"{path} does not hold a valid Fernet key") from None
    return key


class ImageStore:
    """put/get/delete encrypted blobs by random keys, in two levels of sharded folders."""

    def __init__(self, root: Path, key: bytes) -> None:
        self.root = Path(root)
        self._fernet = Fernet(key)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImageStore:
        return cls(Path(config["IMAGE_STORE"]), load_or_create_key(Path(config["IMAGE_KEY_FILE"])))

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise ValueError(f"not an image store key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(self._fernet.encrypt(data))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            token = self._path(key).read_bytes()
        except FileNotFoundError:
            raise ImageNotFound(key) from None
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise ImageStoreError(
                f"image {key} cannot be decrypted: it is damaged or was stored with another key"
            ) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove an image; deleting one that is already gone is not an error."""
        self._path(key).unlink(missing_ok=True)
