"""What RAM and DRAM share for learning where to look: the Gaussian location policy, the learned
baseline and the REINFORCE / baseline losses.

The policy's mean is ``tanh(Linear(state))`` and its standard deviation is fixed (Mnih et al. 2014, §4); a
sampled location is clamped to [-1, 1] and detached, so only the REINFORCE term
``-Σ_t log π(l_t | s_t) · (R_t - b_t)`` reaches the policy. The baseline ``b_t`` regresses the return
``R_t`` (mean squared error) and the advantage is detached, so the baseline only lowers variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class LocationSample:
    """One decision of the policy: the location used (detached), its log-probability and the mean."""

    location: Tensor  # B×2, in [-1, 1]
    log_prob: Tensor  # B, differentiable w.r.t. the policy's parameters
    mean: Tensor  # B×2


class LocationPolicy(nn.Module):
    """π(l | s) = N(tanh(W s + b), σ² I) with a fixed σ."""

    def __init__(self, state_size: int, std: float = 0.1) -> None:
        super().__init__()
        self.fc = nn.Linear(state_size, 2)
        self.std = std

    def forward(self, state: Tensor, stochastic: bool) -> LocationSample:
        # Always fp32, also under bf16 autocast: bf16's 8-bit mantissa would round the mean to ~0.004 (a third
        # of a pixel on DRAM's canvas), about a tenth of σ = 0.03, and bias the log-probabilities REINFORCE uses.
        with torch.autocast(device_type=state.device.type, enabled=False):
            mean = torch.tanh(self.fc(state.float()))
        if not stochastic:
            return LocationSample(mean.detach(), mean.new_zeros(mean.shape[0]), mean)
        raw = (mean + self.std * torch.randn_like(mean)).detach()
        # Gaussian log-density of the raw draw (the clamp below only keeps the sensor on the canvas).
        log_prob = -((raw - mean) ** 2) / (2 * self.std**2) - math.log(self.std) - 0.5 * math.log(2 * math.pi)
        return LocationSample(raw.clamp(-1.0, 1.0), log_prob.sum(-1), mean)


class Baseline(nn.Module):
    """b(s): a linear estimate of the expected return from a (detached) state."""

    def __init__(self, state_size: int) -> None:
        super().__init__()
        self.fc = nn.Linear(state_size, 1)

    def forward(self, state: Tensor) -> Tensor:
        with torch.autocast(device_type=state.device.type, enabled=False):  # a regression target: kept fp32
            return self.fc(state.detach().float()).squeeze(-1)


def reinforce_losses(log_probs: Tensor, baselines: Tensor, returns: Tensor) -> tuple[Tensor, Tensor]:
    """(REINFORCE loss, baseline MSE) for B×T log-probabilities, baselines and returns."""
    returns = returns.detach().to(baselines.dtype)
    advantage = (returns - baselines).detach()
    reinforce = -(log_probs * advantage).sum(dim=1).mean()
    return reinforce, F.mse_loss(baselines, returns)
