"""Augmentations on tensors: shapes kept, deterministic for a generator, doing what they say."""

from __future__ import annotations

import torch

from visiongate.model.augment import (
    augment,
    channel_shuffle,
    cutout,
    random_crop,
    random_flip,
    random_grayscale,
)


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


def test_grayscale_turns_about_the_share_of_images_grey_and_keeps_the_rest() -> None:
    x = torch.randn(400, 3, 4, 4)
    out = random_grayscale(x, 0.25, torch.Generator().manual_seed(0))
    grey = [i for i in range(len(x)) if torch.equal(out[i, 0], out[i, 1])]
    assert 70 < len(grey) < 130
    for i in grey[:5]:
        assert torch.allclose(out[i, 2], x[i].mean(0))  # every channel is the mean
    kept = [i for i in range(len(x)) if i not in grey]
    assert torch.equal(out[kept], x[kept])


def test_grayscale_is_off_at_zero_and_a_no_op_for_one_channel() -> None:
    x = torch.randn(20, 3, 4, 4)
    assert torch.equal(random_grayscale(x, 0.0, torch.Generator()), x)
    mono = torch.randn(20, 1, 4, 4)
    assert torch.equal(random_grayscale(mono, 1.0, torch.Generator()), mono)
    everything = augment(x, 0, 0, torch.Generator(), grayscale=1.0)  # flipped, then grey
    assert torch.equal(everything[:, 0], everything[:, 1])
    assert torch.equal(everything[:, 1], everything[:, 2])


def test_channel_shuffle_reorders_the_channels_of_about_the_share_of_images() -> None:
    x = torch.randn(600, 3, 4, 4)
    out = channel_shuffle(x, 0.5, torch.Generator().manual_seed(0))
    orders = []
    for i in range(len(x)):
        # every output channel is one input channel, each used once
        order = [next(c for c in range(3) if torch.equal(out[i, k], x[i, c])) for k in range(3)]
        assert sorted(order) == [0, 1, 2]
        orders.append(tuple(order))
    changed = sum(order != (0, 1, 2) for order in orders)
    assert 180 < changed < 320  # half shuffled, and 1 in 6 shuffles is the identity
    assert len(set(orders)) == 6


def test_channel_shuffle_is_off_at_zero_and_a_no_op_for_one_channel() -> None:
    x = torch.randn(20, 3, 4, 4)
    assert torch.equal(channel_shuffle(x, 0.0, torch.Generator()), x)
    mono = torch.randn(20, 1, 4, 4)
    assert torch.equal(channel_shuffle(mono, 1.0, torch.Generator()), mono)
