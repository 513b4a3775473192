"""Key and bucket validation, including a property test: any key is either a safe path
inside its bucket or InvalidKey, never anything else (no other exception, no escape)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from visiongate.storage import InvalidKey, LocalStore, validate_key, validate_prefix
from visiongate.storage.base import MAX_KEY_BYTES, MAX_SEGMENT_BYTES

# Keys built from the characters that matter for paths, plus arbitrary text.
_path_alphabet = st.sampled_from(
    ["/", ".", "..", "\\", "\x00", "a", "é", " ", "\n", ".vg-tmp-", "~"]
)
_segment = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
keys = st.one_of(
    st.text(max_size=60),
    st.lists(_segment, min_size=1, max_size=4).map("/".join),
    st.lists(_path_alphabet, max_size=12).map("".join),
    st.lists(st.one_of(_path_alphabet, st.text(max_size=5)), max_size=8).map("/".join),
    st.text(alphabet=st.characters(), min_size=250, max_size=300),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys)
def test_any_key_is_a_path_inside_the_bucket_or_invalid_key(key: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LocalStore(root / "store")
        store.create_bucket("bucket")
        bucket_dir = (root / "store" / "bucket").resolve()
        try:
            store.put("bucket", key, b"payload")
        except InvalidKey:
            event("refused")
            assert not any(p.is_file() for p in root.rglob("*")), "a refused key wrote something"
            return
        event("stored")
        written = (bucket_dir / key).resolve()
        assert bucket_dir in written.parents
        assert written.read_bytes() == b"payload"
        assert [p for p in root.rglob("*") if p.is_file()] == [written]
        assert store.get("bucket", key) == b"payload"


@given(key=keys)
def test_validate_key_returns_the_key_or_raises_invalid_key(key: str) -> None:
    try:
        assert validate_key(key) == key
    except InvalidKey as exc:
        assert exc.message and exc.hint


@given(prefix=keys)
def test_validate_prefix_returns_the_prefix_or_raises_invalid_key(prefix: str) -> None:
    try:
        assert validate_prefix(prefix) == prefix
    except InvalidKey as exc:
        assert exc.message


@pytest.mark.parametrize(
    "key",
    [
        "cat.png",
        "a/b/c.png",
        "with space.png",
        "ünïcode/ключ.png",
        "a..b",
        "...",
        ".hidden",
        "x" * 255,
    ],
)
def test_ordinary_keys_are_valid(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "non-empty string"),
        (42, "non-empty string"),
        ("", "non-empty string"),
        ("\ud800", "UTF-8"),
        ("é" * (MAX_KEY_BYTES // 2 + 1), "longer|more than"),
        ("a/" + "x" * (MAX_SEGMENT_BYTES + 1), "segment longer"),
        ("a\tb", "control character"),
        ("a\x7fb", "control character"),
        ("a\\b", "backslash"),
        ("/a", "absolute"),
        ("a/../b", "'..' segment"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        (".vg-tmp-x/a", "reserved"),
    ],
)
def test_invalid_keys_say_why(key: object, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason) as caught:
        validate_key(key)
    assert caught.value.hint
