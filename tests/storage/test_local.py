"""Local-backend guarantees: nothing escapes a bucket, writes are atomic, temp files are invisible."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from visiongate.config import load_settings
from visiongate.storage import (
    InvalidKey,
    LocalStore,
    NoSuchKey,
    StorageError,
    StorageFull,
    iter_objects,
    open_store,
)
from visiongate.storage.base import TMP_PREFIX


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "key",
    [
        "..",
        "../outside.txt",
        "a/../../outside.txt",
        "a/./b",
        "/abs/path",
        "/",
        "a\x00b",
        "a\\..\\b",
    ],
)
def test_keys_that_would_escape_are_refused_and_write_nothing(
    local: LocalStore, tmp_path: Path, key: str
) -> None:
    before = _files(tmp_path)
    with pytest.raises(InvalidKey):
        local.put("images", key, b"evil")
    assert _files(tmp_path) == before


def test_a_symlink_planted_in_the_bucket_cannot_lead_out(local: LocalStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("root:x:0:0")
    bucket_dir = local.root / "images"
    (bucket_dir / "link").symlink_to(secret, target_is_directory=True)
    (bucket_dir / "file-link").symlink_to(secret / "passwd")

    for key in ["link/passwd", "file-link"]:
        with pytest.raises(InvalidKey, match="resolves outside"):
            local.get("images", key)
        with pytest.raises(InvalidKey, match="resolves outside"):
            local.head("images", key)
    with pytest.raises(InvalidKey, match="resolves outside"):
        local.put("images", "link/new.txt", b"planted")
    with pytest.raises(InvalidKey, match="resolves outside"):
        local.delete("images", "file-link")
    assert not (secret / "new.txt").exists()
    assert (secret / "passwd").read_text() == "root:x:0:0"
    # Listing neither follows the link nor reports objects through it.
    assert [o.key for o in iter_objects(local, "images")] == []
    assert local.list_page("images", "link/").objects == []


def test_a_symlink_inside_the_bucket_pointing_inside_is_an_object(local: LocalStore) -> None:
    local.put("images", "real.png", b"data")
    (local.root / "images" / "alias.png").symlink_to(local.root / "images" / "real.png")
    assert local.get("images", "alias.png") == b"data"
    assert [o.key for o in iter_objects(local, "images")] == ["alias.png", "real.png"]


def test_a_bucket_folder_may_itself_be_a_link_to_a_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "bikes"
    dataset.mkdir(parents=True)
    (dataset / "1.png").write_bytes(b"\x89PNG\r\n\x1a\nrest")
    store = LocalStore(tmp_path / "store")
    store.root.mkdir()
    (store.root / "bikes").symlink_to(dataset, target_is_directory=True)
    assert store.get("bikes", "1.png").startswith(b"\x89PNG")
    assert store.head("bikes", "1.png").content_type == "image/png"


def test_a_fifo_in_the_bucket_is_not_read(local: LocalStore) -> None:
    os.mkfifo(local.root / "images" / "pipe")
    with pytest.raises(NoSuchKey):
        local.get("images", "pipe")  # would block forever if opened for reading
    assert local.list_page("images").objects == []


def test_write_leaves_no_temp_files(local: LocalStore) -> None:
    for i in range(3):
        local.put("images", "a/b.png", bytes([i]) * 100)
    assert _files(local.root / "images") == ["a/b.png"]


def test_a_failure_mid_write_keeps_the_old_content(
    local: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    local.put("images", "cat.png", b"old content")

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    # Fault injection at the OS boundary: the disk fails after the bytes were written.
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match="cannot write"):
        local.put("images", "cat.png", b"new content that never lands")
    monkeypatch.undo()
    assert local.get("images", "cat.png") == b"old content"
    assert _files(local.root / "images") == ["cat.png"]


def test_an_interrupt_mid_write_keeps_the_old_content(
    local: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    local.put("images", "cat.png", b"old content")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        local.put("images", "cat.png", b"new")
    monkeypatch.undo()
    assert local.get("images", "cat.png") == b"old content"
    assert _files(local.root / "images") == ["cat.png"]


def test_a_full_disk_is_reported_as_storage_full(
    local: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageFull, match="nothing was written"):
        local.put("images", "big.png", b"x" * 1000)
    monkeypatch.undo()
    assert _files(local.root / "images") == []


def test_listing_ignores_temp_files_of_crashed_writers(local: LocalStore) -> None:
    local.put("images", "cats/a.png", b"a")
    (local.root / "images" / "cats" / f"{TMP_PREFIX}abc123").write_bytes(b"half")
    (local.root / "images" / f"{TMP_PREFIX}dir").mkdir()
    (local.root / "images" / f"{TMP_PREFIX}dir" / "x.png").write_bytes(b"half")
    assert [o.key for o in iter_objects(local, "images")] == ["cats/a.png"]
    with pytest.raises(InvalidKey, match="reserved"):
        local.get("images", f"cats/{TMP_PREFIX}abc123")


def test_an_object_and_a_folder_cannot_share_a_name(local: LocalStore) -> None:
    local.put("images", "a/b", b"1")
    with pytest.raises(InvalidKey, match="clashes"):
        local.put("images", "a", b"2")
    local.put("images", "c", b"3")
    with pytest.raises(InvalidKey, match="clashes"):
        local.put("images", "c/d", b"4")


def test_deleting_a_prefix_is_a_no_op(local: LocalStore) -> None:
    local.put("images", "a/b", b"1")
    local.delete("images", "a")  # "a" is a folder here, not an object: nothing to delete
    assert local.get("images", "a/b") == b"1"


def test_deleting_prunes_empty_folders_but_not_the_bucket(local: LocalStore) -> None:
    local.put("images", "x/y/z.png", b"1")
    local.put("images", "x/keep.png", b"2")
    local.delete("images", "x/y/z.png")
    assert not (local.root / "images" / "x" / "y").exists()
    assert (local.root / "images" / "x" / "keep.png").exists()
    local.delete("images", "x/keep.png")
    assert (local.root / "images").is_dir() and not (local.root / "images" / "x").exists()


def test_open_store_uses_the_configured_folder(tmp_path: Path) -> None:
    settings = load_settings(env={"VISIONGATE_STORE_ROOT": str(tmp_path / "elsewhere")})
    store = open_store(settings)
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "elsewhere").absolute()


def test_open_store_selects_s3_when_configured(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visiongate.storage.s3 import S3Store

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    store = open_store(load_settings(env={"VISIONGATE_STORE_BACKEND": "s3"}))
    assert isinstance(store, S3Store)
    assert store.client.meta.endpoint_url == moto_server
