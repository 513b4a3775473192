"""Image decoding and preprocessing shared by training, evaluation, serving and monitoring.

One implementation so that what the model saw in training is exactly what it sees
when served. Images are untrusted: decoding refuses decompression bombs, truncated
or corrupt files and unknown formats with :class:`ImageError`, whose message says
what was wrong. Only Pillow and NumPy: the serving path never imports PyTorch.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visiongate.errors import VisiongateError

# Largest decoded image we accept (pixels). Far above any real photo of this use
# case, far below what would exhaust memory: PNG/JPEG "bombs" claim more.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"}

# Our own limit (above) is far below Pillow's bomb-warning size, so its warning adds nothing;
# a process-wide filter, because warnings.catch_warnings() is not thread-safe in a server.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# CIFAR-100 channel statistics; models record the ones they were trained with.
CIFAR_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR_STD = (0.2673, 0.2564, 0.2762)


class ImageError(VisiongateError):
    """The bytes are not an image we can use (empty, corrupt, truncated, too large, unknown)."""


@dataclass(frozen=True)
class Preprocessing:
    """How raw pixels become the model's input tensor; stored in ``model.json['input']``."""

    height: int = 32
    width: int = 32
    channels: int = 3
    mean: tuple[float, ...] = CIFAR_MEAN
    std: tuple[float, ...] = CIFAR_STD

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "layout": "NCHW",
            "color": "RGB" if self.channels == 3 else "L",
            "scale": "1/255",
            "resize": "bilinear",
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(
            height=int(data["height"]),
            width=int(data["width"]),
            channels=int(data.get("channels", 3)),
            mean=tuple(float(x) for x in data["mean"]),
            std=tuple(float(x) for x in data["std"]),
        )

    # Precomputed per-channel affine: (x/255 - mean)/std == x*a + b
    _affine: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        std = np.asarray(self.std, dtype=np.float32)
        mean = np.asarray(self.mean, dtype=np.float32)
        scale = (1.0 / (255.0 * std)).reshape(-1, 1, 1).astype(np.float32)
        shift = (-mean / std).reshape(-1, 1, 1).astype(np.float32)
        object.__setattr__(self, "_affine", (scale, shift))


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode untrusted bytes into an upright PIL image; raise ImageError with a reason."""
    if not data:
        raise ImageError("the image is empty (0 bytes)", hint="send the file's bytes")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in ACCEPTED_FORMATS:
            raise ImageError(
                f"image format {image.format} is not supported",
                hint="send PNG or JPEG",
            )
        width, height = image.size
        # Checked from the header, before any pixel is decoded.
        if width * height > max_pixels:
            raise ImageError(
                f"image is {width}x{height} pixels, over the limit of {max_pixels:,}",
                hint="downscale it before sending",
            )
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            "the bytes are not a recognised image", hint="send a PNG or JPEG file"
        ) from None
    except Image.DecompressionBombError:
        raise ImageError(
            "the image claims a size too large to decode safely (decompression bomb)",
            hint="send a normally sized image",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(
            f"the image is truncated or corrupt: {exc}", hint="re-export or re-upload the file"
        ) from None
    if "exif" not in image.info and image.format != "TIFF":
        return image  # no orientation tag possible: skip the EXIF parse (hot path)
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # noqa: BLE001 - a broken EXIF block must not reject a good image
        return image


def to_model_mode(image: Image.Image, channels: int = 3) -> Image.Image:
    """Convert any mode (L, LA, P, RGBA, I;16, CMYK, ...) to RGB (or L for 1 channel)."""
    target = "RGB" if channels == 3 else "L"
    if image.mode == target:
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() if array.size and array.max() > 255 else 255.0
        image = Image.fromarray((array * (255.0 / peak)).clip(0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        image = Image.fromarray(np.asarray(image).clip(0, 255).astype(np.uint8), "L")
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert(target)


def pixels(image: Image.Image, prep: Preprocessing) -> np.ndarray:
    """Resized uint8 array HxWxC (or HxW) in the model's mode, before normalisation."""
    if image.mode == "RGBA" and prep.channels == 3 and image.size == (prep.width, prep.height):
        # Hot path (matplotlib and many tools write RGBA PNGs): an opaque image composited
        # over white is its RGB channels, so skip Pillow's composite (about a quarter of
        # the per-image preprocessing time). Translucent images take the general path.
        array = np.asarray(image)
        if array[..., 3].min() == 255:
            return array[..., :3]
    image = to_model_mode(image, prep.channels)
    if image.size != (prep.width, prep.height):
        image = image.resize((prep.width, prep.height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def normalize(array: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """uint8 HxWxC -> float32 CxHxW, scaled and normalised as the model expects."""
    if array.ndim == 2:
        array = array[:, :, None]
    chw = np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)
    scale, shift = prep._affine
    chw *= scale
    chw += shift
    return chw


def preprocess(data: bytes, prep: Preprocessing, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Untrusted image bytes -> the model's float32 CxHxW input."""
    return normalize(pixels(decode_image(data, max_pixels), prep), prep)
