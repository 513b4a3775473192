"""image_stats: the brightness/contrast formula shared with training's baseline (MODEL_DIR.md)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.monitor.conftest import png_bytes
from visiongate.imaging import ImageError
from visiongate.monitor.stats import image_stats, image_stats_from_bytes


def test_uniform_gray_image_has_its_level_as_brightness_and_no_contrast():
    stats = image_stats(Image.new("L", (40, 30), 100))
    assert stats == {"brightness": 100.0, "contrast": 0.0, "width": 40.0, "height": 30.0}


def test_half_black_half_white_has_mid_brightness_and_maximal_contrast():
    array = np.zeros((10, 20), dtype=np.uint8)
    array[:, 10:] = 255
    stats = image_stats(Image.fromarray(array))
    assert stats["brightness"] == pytest.approx(127.5)
    assert stats["contrast"] == pytest.approx(127.5)  # population std (ddof=0)


def test_colour_images_are_measured_in_pillow_grayscale():
    rgb = Image.new("RGB", (8, 8), (255, 0, 0))  # L = 0.299*255 -> 76
    assert image_stats(rgb)["brightness"] == pytest.approx(76.0)


def test_transparent_pixels_count_as_white_like_the_model_preprocessing():
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert image_stats(clear)["brightness"] == pytest.approx(255.0)


def test_stats_come_from_the_original_size_not_the_model_input():
    data = png_bytes(np.full((300, 200, 3), 50))
    stats = image_stats_from_bytes(data)
    assert (stats["width"], stats["height"]) == (200.0, 300.0)
    assert stats["brightness"] == pytest.approx(50.0)


def test_undecodable_bytes_raise_image_error():
    with pytest.raises(ImageError):
        image_stats_from_bytes(b"not an image")
