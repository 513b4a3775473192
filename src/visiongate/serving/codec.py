"""Steps 2 and 4 of 4: decode a request body by Content-Type, encode the answer by Accept.

In (like SageMaker's built-in image classifier): ``image/png``, ``image/jpeg`` and
``application/x-image`` (format sniffed from the bytes); GIF, BMP, WebP and TIFF also work.
Any size or mode goes through :mod:`visiongate.imaging`, the one preprocessing
implementation training used.

Out: by default a JSON list of probabilities in class order, e.g. ``[0.9987, 0.0013]``.
``Accept: application/json;verbose`` — or the custom attributes ``verbose=true``,
``top_k=N``, ``embedding=true`` (``X-Amzn-SageMaker-Custom-Attributes``, ``;``- or
``,``-separated ``key=value`` pairs; unknown keys are ignored as SageMaker treats the
header as opaque) — adds labels, the predicted label and the top-k classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from visiongate.imaging import ImageError, Preprocessing, preprocess
from visiongate.serving.errors import NotAcceptable, UnsupportedMediaType, ValidationError

# application/octet-stream and a missing header are sniffed like application/x-image.
SNIFFED_TYPES = frozenset({"application/x-image", "application/octet-stream", ""})
IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/gif", "image/bmp", "image/webp", "image/tiff"}
)
JSON_TYPES = ("application/json", "application/jsonlines")
MAX_CUSTOM_ATTRIBUTES = 1024  # SageMaker's limit on the header's length


@dataclass(frozen=True)
class OutputFormat:
    """What the client asked for through Accept and the custom attributes."""

    content_type: str = "application/json"
    verbose: bool = False
    top_k: int | None = None
    embedding: bool = False


DEFAULT_FORMAT = OutputFormat()


def media_type(header: str | None) -> tuple[str, dict[str, str]]:
    """``"image/png; charset=x"`` -> ``("image/png", {"charset": "x"})`` (lower-cased)."""
    if not header:
        return "", {}
    base, *params = header.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        key, _, value = param.strip().partition("=")
        if key:
            parsed[key.strip().lower()] = value.strip().strip('"').lower()
    return base.strip().lower(), parsed


def check_content_type(header: str | None) -> str:
    """The request's media type if we can decode it; UnsupportedMediaType otherwise."""
    base, _ = media_type(header)
    if base in IMAGE_TYPES or base in SNIFFED_TYPES:
        return base or "application/x-image"
    raise UnsupportedMediaType(
        f"Content-Type {header!r} is not supported by this endpoint",
        hint="send the image bytes as image/png, image/jpeg or application/x-image",
    )


def decode_input(body: bytes, prep: Preprocessing) -> np.ndarray:
    """Untrusted image bytes -> the model's float32 [C, H, W]; ValidationError with a reason."""
    if not body:
        raise ValidationError(
            "the request body is empty (0 bytes)", hint="send the image file's bytes as the body"
        )
    try:
        return preprocess(body, prep)
    except ImageError as exc:
        raise ValidationError(exc.message, hint=exc.hint) from None


def claimed_pixels(body: bytes) -> int | None:
    """Width x height read from a PNG, GIF or JPEG header without decoding; None if unknown.

    Lets the server decode small images inline and send big ones to a thread: a few KiB of
    PNG can claim millions of pixels.
    """
    if body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) >= 24:
        return int.from_bytes(body[16:20], "big") * int.from_bytes(body[20:24], "big")
    if body[:6] in (b"GIF87a", b"GIF89a") and len(body) >= 10:
        return int.from_bytes(body[6:8], "little") * int.from_bytes(body[8:10], "little")
    if body[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 <= len(body) and body[pos] == 0xFF:
            marker, size = body[pos + 1], int.from_bytes(body[pos + 2 : pos + 4], "big")
            if marker in _JPEG_FRAMES:
                height = int.from_bytes(body[pos + 5 : pos + 7], "big")
                return height * int.from_bytes(body[pos + 7 : pos + 9], "big")
            pos += 2 + size
    return None


_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn markers


def _truthy(key: str, value: str) -> bool:
    if value in ("", "1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ValidationError(
        f"custom attribute {key}={value!r} is not a boolean", hint=f"use {key}=true or {key}=false"
    )


@lru_cache(maxsize=256)  # clients repeat the same few header values; errors are not cached
def negotiate(accept: str | None, custom_attributes: str | None, n_classes: int) -> OutputFormat:
    """Resolve Accept + custom attributes into an OutputFormat (NotAcceptable / ValidationError)."""
    chosen: tuple[str, dict[str, str]] | None = None
    ranges = [media_type(part) for part in (accept or "*/*").split(",") if part.strip()]
    ranges.sort(key=lambda r: -_quality(r[1]))
    for base, params in ranges:
        if _quality(params) <= 0:
            continue
        if base in ("*/*", "application/*", ""):
            chosen = ("application/json", params)
            break
        if base in JSON_TYPES:
            chosen = (base, params)
            break
    if chosen is None:
        raise NotAcceptable(
            f"Accept {accept!r} names no format this endpoint produces",
            hint="accept application/json (probabilities) or application/json;verbose",
        )
    base, params = chosen
    verbose = "verbose" in params and _truthy("verbose", params["verbose"])
    top_k: int | None = None
    embedding = False
    for key, value in _attributes(custom_attributes).items():
        if key == "verbose":
            verbose = _truthy(key, value)
        elif key == "embedding":
            embedding = _truthy(key, value)
        elif key in ("top_k", "topk"):
            if not value.isdigit() or not 1 <= int(value) <= n_classes:
                raise ValidationError(
                    f"custom attribute top_k={value!r} must be a whole number from 1 to {n_classes}",
                    hint="e.g. X-Amzn-SageMaker-Custom-Attributes: top_k=1",
                )
            top_k = int(value)
    verbose = verbose or top_k is not None or embedding
    content_type = f"{base};verbose" if verbose else base
    return OutputFormat(content_type, verbose, top_k, embedding)


def _quality(params: dict[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 0.0


def _attributes(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    if len(header) > MAX_CUSTOM_ATTRIBUTES:
        raise ValidationError(
            f"X-Amzn-SageMaker-Custom-Attributes is {len(header)} characters, over {MAX_CUSTOM_ATTRIBUTES}"
        )
    pairs: dict[str, str] = {}
    for item in header.replace(",", ";").split(";"):
        key, _, value = item.strip().partition("=")
        if key:
            pairs[key.strip().lower()] = value.strip().lower()
    return pairs


def encode_output(
    probs: np.ndarray, embedding: np.ndarray | None, classes: list[str], fmt: OutputFormat
) -> bytes:
    """One image's result as the response body."""
    values = probs.tolist()
    if not fmt.verbose:
        return json.dumps(values).encode()
    order = np.argsort(-probs, kind="stable")
    best = int(order[0])
    doc: dict[str, Any] = {
        "probabilities": values,
        "labels": classes,
        "predicted_label": classes[best],
        "predicted_index": best,
        "probability": values[best],
        "top_k": [
            {"label": classes[i], "index": int(i), "probability": values[i]}
            for i in order[: fmt.top_k or len(classes)]
        ],
    }
    if fmt.embedding:
        doc["embedding"] = embedding.tolist() if embedding is not None else None
    return json.dumps(doc).encode()
