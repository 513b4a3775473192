"""Augmentations on tensors: shapes kept, deterministic for a generator, doing what they say."""

from __future__ import annotations

import torch

from visiongate.model.augment import augment, cutout, random_crop, random_flip


def images(n: int = 16) -> torch.Tensor:
    return torch.arange(n * 3 * 8 * 8, dtype=torch.float32).reshape(n, 3, 8, 8)


def test_same_generator_seed_same_result() -> None:
    first = augment(images(), 2, 3, torch.Generator().manual_seed(5))
    second = augment(images(), 2, 3, torch.Generator().manual_seed(5))
    assert torch.equal(first, second)
    assert first.shape == images().shape


def test_crop_is_a_shift_of_the_reflect_padded_image() -> None:
    x = images(32)
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(len(x)):
        windows = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)
    assert not torch.equal(out, x)


def test_flip_mirrors_about_half_the_images() -> None:
    x = images(200)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = sum(torch.equal(out[i], x[i].flip(2)) for i in range(len(x)))
    unchanged = sum(torch.equal(out[i], x[i]) for i in range(len(x)))
    assert flipped + unchanged == 200 and 70 < flipped < 130


def test_cutout_blanks_one_square_per_image() -> None:
    x = torch.ones(50, 3, 16, 16)
    out = cutout(x, 4, torch.Generator().manual_seed(0))
    blanked = (out[:, 0] == 0).sum(dim=(1, 2))
    assert blanked.max() == 16 and blanked.min() >= 4  # clipped at the border at worst
    assert torch.equal(out[:, 0] == 0, out[:, 2] == 0)  # same square on every channel
    assert torch.equal(cutout(x, 0, torch.Generator()), x)
