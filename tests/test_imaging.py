"""The shared preprocessor: RGBA images, opaque or not, become what Pillow's composite gives."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from visiongate.imaging import Preprocessing, decode_image, pixels, preprocess


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _random_rgba(alpha: np.ndarray) -> Image.Image:
    rgb = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def test_an_opaque_rgba_png_gives_exactly_its_rgb_channels() -> None:
    image = _random_rgba(np.full((32, 32), 255, np.uint8))
    got = pixels(decode_image(_png(image)), Preprocessing())
    np.testing.assert_array_equal(got, np.asarray(image.convert("RGB")))


def test_a_translucent_rgba_png_is_composited_over_white() -> None:
    alpha = np.full((32, 32), 255, np.uint8)
    alpha[0, 0] = 0  # one fully transparent pixel: must come out white
    image = _random_rgba(alpha)
    got = pixels(decode_image(_png(image)), Preprocessing())
    assert got[0, 0].tolist() == [255, 255, 255]
    np.testing.assert_array_equal(got[1:], np.asarray(image.convert("RGB"))[1:])


def test_an_rgba_png_of_another_size_is_resized_like_rgb() -> None:
    image = _random_rgba(np.full((32, 32), 255, np.uint8)).resize((40, 40))
    prep = Preprocessing()
    from_rgba = preprocess(_png(image), prep)
    from_rgb = preprocess(_png(image.convert("RGB")), prep)
    np.testing.assert_array_equal(from_rgba, from_rgb)
    assert from_rgba.shape == (3, 32, 32)
