"""Temperature scaling: one number that makes the model's confidence mean what it says.

Guo et al., "On Calibration of Modern Neural Networks" (2017): divide the logits by a
temperature T fitted to minimise the negative log-likelihood on held-out data. T changes
no prediction (argmax is unchanged), only how sure each one claims to be, which is what
the confidence gate's threshold reads. We fit log T (so T stays positive) with L-BFGS on
the validation split, which training never saw.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MIN_T, MAX_T = 0.05, 20.0


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, steps: int = 100) -> float:
    """The temperature minimising NLL of ``softmax(logits / T)`` on (logits, labels)."""
    logits = logits.detach().double()
    labels = labels.detach().long()
    if len(labels) == 0:
        return 1.0
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    value = float(log_t.detach().exp())
    if not math.isfinite(value):
        return 1.0
    # A validation split the model classifies perfectly drives T toward 0 (ever-sharper
    # confidence); the bounds keep a small split from producing absurd certainty.
    return min(max(value, MIN_T), MAX_T)
