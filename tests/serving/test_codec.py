"""Decoding by Content-Type and encoding by Accept (the inference toolkit's steps 2 and 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.serving.conftest import noise_image, png
from visiongate.imaging import Preprocessing
from visiongate.serving.codec import (
    OutputFormat,
    check_content_type,
    decode_input,
    encode_output,
    negotiate,
)
from visiongate.serving.errors import NotAcceptable, UnsupportedMediaType, ValidationError

PREP = Preprocessing()
CLASSES = ["bicycle", "motorcycle", "scooter"]


@pytest.mark.parametrize(
    ("header", "base"),
    [
        ("image/png", "image/png"),
        ("IMAGE/JPEG; charset=binary", "image/jpeg"),
        ("application/x-image", "application/x-image"),
        (None, "application/x-image"),
        ("application/octet-stream", "application/octet-stream"),
    ],
)
def test_image_content_types_are_accepted(header: str | None, base: str) -> None:
    assert check_content_type(header) == base


@pytest.mark.parametrize(
    "header", ["text/csv", "application/json", "multipart/form-data; boundary=x"]
)
def test_other_content_types_are_415(header: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        check_content_type(header)
    assert caught.value.status == 415 and caught.value.code == "ValidationError"


def test_decode_gives_the_model_input() -> None:
    array = decode_input(png(noise_image(1, (50, 20))), PREP)
    assert array.shape == (3, 32, 32) and array.dtype == np.float32


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_decode_or_raise_a_validation_error(data: bytes) -> None:
    try:
        array = decode_input(data, PREP)
    except ValidationError as exc:
        assert exc.status == 400 and exc.message
    else:
        assert array.shape == (3, 32, 32)


@pytest.mark.parametrize(
    ("accept", "attributes", "expected"),
    [
        (None, None, OutputFormat()),
        ("*/*", None, OutputFormat()),
        ("application/json", None, OutputFormat()),
        ("application/json;verbose", None, OutputFormat("application/json;verbose", True)),
        ("application/json; verbose=true", None, OutputFormat("application/json;verbose", True)),
        ("text/html, application/json;q=0.5", None, OutputFormat()),
        ("application/jsonlines", None, OutputFormat("application/jsonlines")),
        (None, "verbose=true", OutputFormat("application/json;verbose", True)),
        (None, "top_k=2", OutputFormat("application/json;verbose", True, 2)),
        (
            None,
            "trace=abc; embedding=1",
            OutputFormat("application/json;verbose", True, None, True),
        ),
        (None, "someone-else's=opaque,value", OutputFormat()),
    ],
)
def test_negotiate(accept, attributes, expected) -> None:
    assert negotiate(accept, attributes, len(CLASSES)) == expected


@pytest.mark.parametrize(
    ("accept", "attributes", "error", "message"),
    [
        (
            "text/csv",
            None,
            NotAcceptable,
            "Accept 'text/csv' names no format this endpoint produces",
        ),
        ("application/json;q=0", None, NotAcceptable, "names no format"),
        (None, "top_k=4", ValidationError, "top_k='4' must be a whole number from 1 to 3"),
        (None, "top_k=-1", ValidationError, "must be a whole number"),
        (
            None,
            "verbose=maybe",
            ValidationError,
            "custom attribute verbose='maybe' is not a boolean",
        ),
        (None, "x" * 1025, ValidationError, "over 1024"),
    ],
)
def test_negotiate_errors(accept, attributes, error, message) -> None:
    with pytest.raises(error) as caught:
        negotiate(accept, attributes, len(CLASSES))
    assert message in caught.value.message


def test_default_output_is_a_json_list_in_class_order() -> None:
    probs = np.array([0.25, 0.5, 0.25], np.float32)
    assert json.loads(encode_output(probs, None, CLASSES, OutputFormat())) == [0.25, 0.5, 0.25]


def test_verbose_output_has_labels_and_top_k() -> None:
    probs = np.array([0.125, 0.625, 0.25], np.float32)
    embedding = np.array([1.5, -2.0], np.float32)
    doc = json.loads(
        encode_output(
            probs, embedding, CLASSES, OutputFormat("application/json;verbose", True, 2, True)
        )
    )
    assert doc == {
        "probabilities": [0.125, 0.625, 0.25],
        "labels": CLASSES,
        "predicted_label": "motorcycle",
        "predicted_index": 1,
        "probability": 0.625,
        "top_k": [
            {"label": "motorcycle", "index": 1, "probability": 0.625},
            {"label": "scooter", "index": 2, "probability": 0.25},
        ],
        "embedding": [1.5, -2.0],
    }


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_claimed_pixels_reads_headers_without_decoding(fmt: str) -> None:
    import io

    from PIL import Image

    from visiongate.serving.codec import claimed_pixels

    out = io.BytesIO()
    Image.new("RGB", (300, 200)).save(
        out, format=fmt, **({"progressive": True} if fmt == "JPEG" else {})
    )
    assert claimed_pixels(out.getvalue()) == 60_000


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff", b"BM....", b"\x89PNG\r\n\x1a\n"])
def test_claimed_pixels_is_none_when_unknown(data: bytes) -> None:
    from visiongate.serving.codec import claimed_pixels

    assert claimed_pixels(data) is None
