"""Temperature scaling (Guo et al. 2017) recovers the temperature that generated the labels."""

from __future__ import annotations

import torch

from visiongate.model.calibrate import MIN_T, fit_temperature


def test_recovers_a_known_temperature() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 3, generator=generator) * 4
    true_t = 2.5
    labels = torch.multinomial(torch.softmax(logits / true_t, 1), 1, generator=generator).squeeze(1)
    assert abs(fit_temperature(logits, labels) - true_t) < 0.25


def test_overconfident_logits_get_a_temperature_above_one() -> None:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2000, 2, generator=generator) * 10
    labels = torch.multinomial(torch.softmax(logits / 4, 1), 1, generator=generator).squeeze(1)
    assert fit_temperature(logits, labels) > 2


def test_a_perfectly_separated_split_is_bounded_and_empty_is_neutral() -> None:
    logits = torch.tensor([[5.0, -5.0], [-5.0, 5.0]])
    assert fit_temperature(logits, torch.tensor([0, 1])) >= MIN_T
    assert fit_temperature(torch.zeros((0, 2)), torch.zeros(0, dtype=torch.long)) == 1.0
