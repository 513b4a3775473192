"""One behavioural suite, run against both backends: LocalStore and S3Store (over HTTP to moto).

If a test here passes on one backend and fails on the other, the backends disagree and
code that moves from a laptop to Lambda would change behaviour.
S3 semantics: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.storage.images import png
from visiongate.storage import (
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    ObjectStore,
    StorageError,
    iter_objects,
)


def test_put_then_get_returns_the_same_bytes(store: ObjectStore, bucket: str) -> None:
    data = png(4, 4)
    store.put(bucket, "cats/cat.png", data)
    assert store.get(bucket, "cats/cat.png") == data


def test_put_returns_what_was_stored(store: ObjectStore, bucket: str) -> None:
    info = store.put(bucket, "cats/cat.png", png())
    assert (info.bucket, info.key, info.size) == (bucket, "cats/cat.png", len(png()))
    assert info.content_type == "image/png"
    assert info.version and info.etag
    assert isinstance(info.last_modified, datetime) and info.last_modified.tzinfo is not None


def test_head_reports_size_and_sniffed_content_type(store: ObjectStore, bucket: str) -> None:
    # The key says .jpg, the bytes are PNG: the bytes win (sniffed at put on S3, at head locally).
    store.put(bucket, "misnamed.jpg", png(2, 2))
    info = store.head(bucket, "misnamed.jpg")
    assert info.size == len(png(2, 2))
    assert info.content_type == "image/png"


def test_head_of_unknown_bytes_falls_back_to_the_extension(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "notes/readme.txt", b"hello")
    assert store.head(bucket, "notes/readme.txt").content_type == "text/plain"
    store.put(bucket, "blob", b"hello")
    assert store.head(bucket, "blob").content_type == "application/octet-stream"


def test_empty_object_is_an_object(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "empty.bin", b"")
    assert store.get(bucket, "empty.bin") == b""
    assert store.head(bucket, "empty.bin").size == 0


def test_overwrite_replaces_content_and_changes_version(store: ObjectStore, bucket: str) -> None:
    first = store.put(bucket, "a.txt", b"one")
    second = store.put(bucket, "a.txt", b"two, longer")
    assert store.get(bucket, "a.txt") == b"two, longer"
    assert store.head(bucket, "a.txt").size == len(b"two, longer")
    assert first.version != second.version


def test_unicode_and_space_keys_round_trip(store: ObjectStore, bucket: str) -> None:
    key = "photos/été 2024/chat ü.png"
    store.put(bucket, key, png())
    assert store.get(bucket, key) == png()
    assert [o.key for o in iter_objects(store, bucket, "photos/")] == [key]


def test_list_with_prefix_returns_matching_keys_in_order(store: ObjectStore, bucket: str) -> None:
    for key in ["cats/b.png", "cats/a.png", "dogs/a.png", "cats2/x.png", "top.png"]:
        store.put(bucket, key, png())
    page = store.list_page(bucket, "cats/")
    assert [o.key for o in page.objects] == ["cats/a.png", "cats/b.png"]
    assert page.next_token is None
    # A prefix is a string prefix, not a folder: "cats" also matches "cats2/".
    assert [o.key for o in store.list_page(bucket, "cats").objects] == [
        "cats/a.png",
        "cats/b.png",
        "cats2/x.png",
    ]
    assert len(store.list_page(bucket).objects) == 5


def test_list_reports_size_and_a_key_based_content_type(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "cats/a.png", png(3, 3))
    (info,) = store.list_page(bucket, "cats/").objects
    assert info.size == len(png(3, 3))
    assert info.content_type == "image/png"
    assert info.last_modified.tzinfo is not None


def test_list_paginates_with_small_max_keys(store: ObjectStore, bucket: str) -> None:
    keys = [f"img/{i:02d}.png" for i in range(7)]
    for key in reversed(keys):
        store.put(bucket, key, b"x")
    seen, token, pages = [], None, 0
    while True:
        page = store.list_page(bucket, "img/", token=token, max_keys=3)
        assert len(page.objects) <= 3
        seen += [o.key for o in page.objects]
        pages += 1
        if page.next_token is None:
            break
        token = page.next_token
    assert seen == keys
    assert pages == 3
    assert [o.key for o in iter_objects(store, bucket, "img/")] == keys


def test_list_of_an_empty_prefix_is_empty(store: ObjectStore, bucket: str) -> None:
    page = store.list_page(bucket, "nothing/here/")
    assert page.objects == [] and page.next_token is None


def test_list_rejects_a_non_positive_max_keys(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(StorageError, match="max_keys"):
        store.list_page(bucket, max_keys=0)


def test_delete_removes_the_object(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "a/b.png", png())
    store.delete(bucket, "a/b.png")
    with pytest.raises(NoSuchKey):
        store.get(bucket, "a/b.png")
    assert store.list_page(bucket).objects == []


def test_delete_of_a_missing_key_is_not_an_error(store: ObjectStore, bucket: str) -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html: 204 either way.
    store.delete(bucket, "never/was.png")


def test_after_deleting_a_b_the_key_a_is_free(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "a/b", b"1")
    store.delete(bucket, "a/b")
    store.put(bucket, "a", b"2")
    assert store.get(bucket, "a") == b"2"


@pytest.mark.parametrize("operation", ["get", "head"])
def test_missing_key_raises_no_such_key(store: ObjectStore, bucket: str, operation: str) -> None:
    with pytest.raises(NoSuchKey, match=f"s3://{bucket}/nope.png does not exist"):
        getattr(store, operation)(bucket, "nope.png")


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get("no-such-bucket-vg", "k.png"),
        lambda s: s.head("no-such-bucket-vg", "k.png"),
        lambda s: s.put("no-such-bucket-vg", "k.png", b"x"),
        lambda s: s.delete("no-such-bucket-vg", "k.png"),
        lambda s: s.list_page("no-such-bucket-vg"),
    ],
    ids=["get", "head", "put", "delete", "list"],
)
def test_missing_bucket_raises_no_such_bucket(store: ObjectStore, call) -> None:  # noqa: ANN001
    with pytest.raises(NoSuchBucket, match="'no-such-bucket-vg' does not exist") as caught:
        call(store)
    assert caught.value.hint and "store mb" in caught.value.hint


def test_bucket_exists_and_create_is_idempotent(store: ObjectStore, bucket: str) -> None:
    assert store.bucket_exists(bucket)
    assert not store.bucket_exists("vg-never-created-bucket")
    store.create_bucket(bucket)  # again: no error, contents kept
    store.put(bucket, "k", b"v")
    store.create_bucket(bucket)
    assert store.get(bucket, "k") == b"v"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../escape.png",
        "a/../../b",
        "./a",
        "/etc/passwd",
        "a\\b",
        "a\x00b",
        "a//b",
        "a/",
        "a\nb",
    ],
)
@pytest.mark.parametrize("operation", ["get", "head", "put", "delete"])
def test_unsafe_keys_are_refused_identically(
    store: ObjectStore, bucket: str, key: str, operation: str
) -> None:
    args = (bucket, key, b"x") if operation == "put" else (bucket, key)
    with pytest.raises(InvalidKey):
        getattr(store, operation)(*args)


@pytest.mark.parametrize(
    "name", ["", "A", "ab", "Upper", "has_underscore", "a..b", "-ab", "x" * 64]
)
def test_invalid_bucket_names_are_refused(store: ObjectStore, name: str) -> None:
    with pytest.raises(InvalidKey, match="bucket name"):
        store.create_bucket(name)


def test_put_refuses_text(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(StorageError, match="needs bytes"):
        store.put(bucket, "a.txt", "text")  # type: ignore[arg-type]


def test_list_refuses_an_escaping_prefix(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(InvalidKey):
        store.list_page(bucket, "../")
