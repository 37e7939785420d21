"""DRAM, the Deep Recurrent Attention Model of Ba, Mnih and Kavukcuoglu (2015), "Multiple Object Recognition
with Visual Attention", for variable-length digit strings.

A context network reads a downsampled view of the whole image and sets the initial state of the upper
(location) LSTM r(2), whose emission network proposes every glimpse location (the first one included). The
glimpse network multiplies a convolutional "what" pathway over the sensor's patches with a "where" pathway
over the location. The lower LSTM r(1) integrates glimpses; after every ``glimpses_per_symbol`` glimpses the
classification network reads r(1) and emits the next symbol: a digit, or the end token after the last one.

Learning follows the paper: cross-entropy trains the glimpse, r(1) and classification networks; the
location pathway (context network, r(2), emission) is trained by REINFORCE with a learned baseline. r(2)
reads r(1)'s state detached so the two signals stay apart.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textlens.models.glimpse.policy import Baseline, LocationPolicy
from textlens.models.glimpse.sensor import GlimpseSensor


def _conv_stack(in_channels: int, channels: tuple[int, ...]) -> nn.Sequential:
    """3×3 convolutions with ReLU; every layer after the first halves the resolution."""
    layers: list[nn.Module] = []
    for index, out in enumerate(channels):
        layers += [
            nn.Conv2d(in_channels, out, 3, stride=1 if index == 0 else 2, padding=1),
            nn.ReLU(inplace=True),
        ]
        in_channels = out
    return nn.Sequential(*layers)


def _conv_out(channels: tuple[int, ...], height: int, width: int) -> int:
    for _ in channels[1:]:
        height, width = (height + 1) // 2, (width + 1) // 2
    return channels[-1] * height * width


class WhatWhereGlimpse(nn.Module):
    """g = G_image(ρ(x, l)) ⊙ G_loc(l): convolutional "what" times a linear "where" pathway."""

    def __init__(self, patch_channels: int, size: int, channels: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.convs = _conv_stack(patch_channels, channels)
        self.what = nn.Linear(_conv_out(channels, size, size), hidden)
        self.where = nn.Linear(2, hidden)

    def forward(self, patches: Tensor, locations: Tensor) -> Tensor:
        what = F.relu(self.what(self.convs(patches).flatten(1)))
        return what * F.relu(self.where(locations))


class ContextNetwork(nn.Module):
    """Convolutions over a downsampled image → the initial hidden state of r(2)."""

    def __init__(self, in_channels: int, size: tuple[int, int], channels: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.size = tuple(size)
        self.convs = _conv_stack(in_channels, channels)
        self.fc = nn.Linear(_conv_out(channels, *self.size), hidden)

    def forward(self, images: Tensor) -> Tensor:
        small = F.interpolate(images, size=self.size, mode="area")
        return torch.tanh(self.fc(self.convs(small).flatten(1)))


class DRAM(nn.Module):
    """The deep recurrent attention model; ``forward`` gives per-symbol logits and the glimpse path."""

    family = "glimpse"
    kind = "sequence"
    # The one parameter that reads the sensor's patches (input dim 1: scale-major, finest first).
    sensor_input = "glimpse.convs.0.weight"

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: tuple[int, int] = (64, 160),
        max_length: int = 5,
        glimpses_per_symbol: int = 3,
        glimpse_size: int = 12,
        scales: int = 2,
        hidden: int = 256,
        glimpse_channels: tuple[int, ...] = (16, 32, 32),
        context_size: tuple[int, int] = (16, 40),
        context_channels: tuple[int, ...] = (16, 32, 32),
        # 0.05: across the 160-px canvas σ = 0.1 moves a glimpse 8 px, half a digit; continuing the bundled
        # weights with 0.05 took the validation error from 16.5 to 9.4 % in 8k steps (docs/glimpse.md).
        std: float = 0.05,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "num_classes": num_classes,
            "in_channels": in_channels,
            "image_size": list(image_size),
            "max_length": max_length,
            "glimpses_per_symbol": glimpses_per_symbol,
            "glimpse_size": glimpse_size,
            "scales": scales,
            "hidden": hidden,
            "glimpse_channels": list(glimpse_channels),
            "context_size": list(context_size),
            "context_channels": list(context_channels),
            "std": std,
        }
        self.num_classes, self.eos = num_classes, num_classes
        self.in_channels, self.image_size = in_channels, tuple(image_size)
        self.max_length, self.glimpses_per_symbol = max_length, glimpses_per_symbol
        self.symbols = max_length + 1  # the digits, then the end token
        self.glimpses = self.symbols * glimpses_per_symbol
        self.hidden = hidden
        self.sensor = GlimpseSensor(glimpse_size, scales)
        self.glimpse = WhatWhereGlimpse(in_channels * scales, glimpse_size, tuple(glimpse_channels), hidden)
        self.context = ContextNetwork(in_channels, tuple(context_size), tuple(context_channels), hidden)
        self.rnn1 = nn.LSTMCell(hidden, hidden)  # classification r(1)
        self.rnn2 = nn.LSTMCell(hidden, hidden)  # location r(2)
        self.emission = LocationPolicy(hidden, std)
        self.baseline = Baseline(2 * hidden)
        self.classifier = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes + 1)
        )

    def forward(self, images: Tensor, stochastic: bool | None = None) -> dict[str, Tensor]:
        """``images`` B×C×H×W in [0, 1] → logits B×S×(classes+1) with S = max_length + 1, and the path."""
        stochastic = self.training if stochastic is None else stochastic
        batch = images.shape[0]
        zeros = images.new_zeros(batch, self.hidden)
        state1 = (zeros, zeros)
        state2 = (self.context(images), zeros)
        locations, log_probs, baselines, logits = [], [], [], []
        for step in range(self.glimpses):
            decision = self.emission(state2[0], stochastic)
            baselines.append(self.baseline(torch.cat([state1[0], state2[0]], dim=-1)))
            locations.append(decision.location)
            log_probs.append(decision.log_prob)
            g = self.glimpse(self.sensor(images, decision.location), decision.location)
            state1 = self.rnn1(g, state1)
            state2 = self.rnn2(state1[0].detach(), state2)
            if (step + 1) % self.glimpses_per_symbol == 0:
                logits.append(self.classifier(state1[0]))
        return {
            "logits": torch.stack(logits, dim=1),
            "locations": torch.stack(locations, dim=1),
            "log_probs": torch.stack(log_probs, dim=1),
            "baselines": torch.stack(baselines, dim=1),
        }

    def decode(self, logits: Tensor) -> list[list[int]]:
        """Greedy symbols up to (not including) the first end token."""
        out = []
        for row in logits.argmax(-1).tolist():
            out.append(row[: row.index(self.eos)] if self.eos in row else row)
        return out

    @torch.no_grad()
    def predict_proba(self, images: Tensor, samples: int = 1) -> Tensor:
        """Per-symbol probabilities B×S×(classes+1); ``samples`` > 1 averages sampled glimpse paths."""
        if samples <= 1:
            return self(images, stochastic=False)["logits"].softmax(-1)
        return torch.stack([self(images, stochastic=True)["logits"].softmax(-1) for _ in range(samples)]).mean(0)
