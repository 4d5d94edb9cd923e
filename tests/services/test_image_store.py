from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from portal.services.image_store import (
    ImageNotFound,
    ImageStore,
    ImageStoreError,
    load_or_create_key,
)


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images", load_or_create_key(tmp_path / "image.key"))


def test_an_image_round_trips_and_is_encrypted_on_disk(store, faces):
    photo = (faces / "people/obama/obama.jpg").read_bytes()
    key = store.put(photo)
    assert store.exists(key)
    assert store.get(key) == photo
    (stored,) = [path for path in store.root.rglob("*") if path.is_file()]
    assert stored.name == key
    assert stored.relative_to(store.root).parts == (key[:2], key[2:4], key)
    on_disk = stored.read_bytes()
    assert photo[:2000] not in on_disk and b"JFIF" not in on_disk and b"Exif" not in on_disk


def test_every_put_gets_its_own_key(store):
    assert store.put(b"same") != store.put(b"same")


def test_delete_removes_the_image_and_is_safe_to_repeat(store):
    key = store.put(b"frame")
    store.delete(key)
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ImageNotFound):
        store.get(key)


def test_keys_that_could_leave_the_store_are_refused(store):
    for key in ["../image.key", "", "ABCDEF", "a" * 31 + "/"]:
        with pytest.raises(ValueError):
            store.get(key)


def test_an_image_stored_with_another_key_is_an_error(store, tmp_path):
    key = store.put(b"frame")
    other = ImageStore(store.root, load_or_create_key(tmp_path / "other.key"))
    with pytest.raises(ImageStoreError, match="cannot be decrypted"):
        other.get(key)


def test_the_key_file_is_created_once_and_private(tmp_path):
    path = tmp_path / "instance" / "image.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == first
    assert list(path.parent.iterdir()) == [path]


def test_racing_processes_agree_on_one_key(tmp_path):
    path = tmp_path / "image.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_key(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and set(keys) == {path.read_bytes()}


def test_a_damaged_key_file_says_so(tmp_path):
    path = tmp_path / "image.key"
    path.write_bytes(b"not a key")
    with pytest.raises(ImageStoreError, match="valid Fernet key"):
        load_or_create_key(path)


def test_the_store_is_configured_from_the_instance_folder(app):
    store = ImageStore.from_config(app.config)
    key = store.put(b"frame")
    assert store.root == Path(app.instance_path) / "images"
    assert (Path(app.instance_path) / "image.key").is_file()
    assert ImageStore.from_config(app.config).get(key) == b"frame"
