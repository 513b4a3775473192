"""Image statistics that drift detection compares between the baseline and live traffic.

The training engineer's ``baseline.json`` and the live monitor compute them with this
one formula, on the *decoded original* image (before the model's resize):

* ``brightness`` – mean of the grayscale (Pillow ``L``) pixel values, in [0, 255];
* ``contrast``   – standard deviation (population, ddof=0) of the same values;
* ``width`` / ``height`` – the decoded image's size in pixels.

Grayscale conversion goes through :func:`visiongate.imaging.to_model_mode` so that
transparency (composited on white) and 16-bit images are treated exactly as the
model's own preprocessing treats them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from visiongate.imaging import decode_image, to_model_mode

STAT_NAMES = ("brightness", "contrast", "width", "height")


def image_stats(image: Image.Image) -> dict[str, float]:
    """``{"brightness", "contrast", "width", "height"}`` of a decoded PIL image."""
    gray = np.asarray(to_model_mode(image, channels=1), dtype=np.float64)
    width, height = image.size
    return {
        "brightness": float(gray.mean()) if gray.size else 0.0,
        "contrast": float(gray.std()) if gray.size else 0.0,
        "width": float(width),
        "height": float(height),
    }


def image_stats_from_bytes(data: bytes) -> dict[str, float]:
    """Decode untrusted bytes (raises ``ImageError``) and return their statistics."""
    return image_stats(decode_image(data))
