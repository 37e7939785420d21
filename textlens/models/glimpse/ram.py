"""RAM, the Recurrent Attention Model of Mnih, Heess, Graves and Kavukcuoglu (2014), "Recurrent Models of
Visual Attention".

At each of ``glimpses`` steps the sensor reads ``scales`` patches around the current location; the glimpse
network embeds patches and location (``h_g = ReLU(Linear(ρ))``, ``h_l = ReLU(Linear(l))``,
``g = ReLU(Linear(h_g) + Linear(h_l))``); the core RNN (ReLU RNN as the paper uses for MNIST, or an LSTM)
updates its state; the location network proposes the next location from the state (Gaussian policy); after
the last glimpse the action network classifies. Following §4 of the paper the location network (and the
baseline) see the state detached: classification gradients train the glimpse, core and action networks, and
REINFORCE trains the location network only.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textlens.models.glimpse.policy import Baseline, LocationPolicy
from textlens.models.glimpse.sensor import GlimpseSensor


class GlimpseNetwork(nn.Module):
    """f_g: patches and location through their own ReLU layers, added, through one more ReLU layer."""

    def __init__(self, patch_dim: int, what: int = 128, where: int = 128, out: int = 256) -> None:
        super().__init__()
        self.what = nn.Linear(patch_dim, what)
        self.where = nn.Linear(2, where)
        self.what_out = nn.Linear(what, out)
        self.where_out = nn.Linear(where, out)

    def forward(self, patches: Tensor, locations: Tensor) -> Tensor:
        h_g = F.relu(self.what(patches.flatten(1)))
        h_l = F.relu(self.where(locations))
        return F.relu(self.what_out(h_g) + self.where_out(h_l))


class CoreNetwork(nn.Module):
    """f_h: a ReLU RNN (``h = ReLU(W_h h + W_g g)``) or an LSTM; the state is a tuple of tensors."""

    def __init__(self, input_size: int, hidden: int, cell: str = "rnn") -> None:
        super().__init__()
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"core cell must be 'rnn' or 'lstm', got {cell!r}")
        self.cell_type, self.hidden = cell, hidden
        self.cell: nn.Module = (
            nn.RNNCell(input_size, hidden, nonlinearity="relu") if cell == "rnn" else nn.LSTMCell(input_size, hidden)
        )

    def initial(self, batch: int, like: Tensor) -> tuple[Tensor, ...]:
        zeros = like.new_zeros(batch, self.hidden)
        return (zeros,) if self.cell_type == "rnn" else (zeros, zeros.clone())

    def forward(self, g: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        if self.cell_type == "rnn":
            return (self.cell(g, state[0]),)
        h, c = self.cell(g, state)
        return h, c


class RAM(nn.Module):
    """The recurrent attention model; ``forward`` returns logits, locations, log-probabilities, baselines."""

    family = "glimpse"
    kind = "classifier"
    # The one parameter that reads the sensor's patches (input dim 1: scale-major, finest first).
    sensor_input = "glimpse.what.weight"

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: tuple[int, int] = (28, 28),
        glimpses: int = 6,
        glimpse_size: int = 8,
        scales: int = 1,
        what: int = 128,
        where: int = 128,
        glimpse_out: int = 256,
        hidden: int = 256,
        cell: str = "rnn",
        std: float = 0.1,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "num_classes": num_classes,
            "in_channels": in_channels,
            "image_size": list(image_size),
            "glimpses": glimpses,
            "glimpse_size": glimpse_size,
            "scales": scales,
            "what": what,
            "where": where,
            "glimpse_out": glimpse_out,
            "hidden": hidden,
            "cell": cell,
            "std": std,
        }
        self.glimpses, self.num_classes = glimpses, num_classes
        self.image_size = tuple(image_size)
        self.in_channels = in_channels
        self.sensor = GlimpseSensor(glimpse_size, scales)
        self.glimpse = GlimpseNetwork(in_channels * scales * glimpse_size**2, what, where, glimpse_out)
        self.core = CoreNetwork(glimpse_out, hidden, cell)
        self.locator = LocationPolicy(hidden, std)
        self.baseline = Baseline(hidden)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, images: Tensor, stochastic: bool | None = None) -> dict[str, Tensor]:
        """``images`` B×C×H×W in [0, 1]. Locations are sampled when ``stochastic`` (default: in training)."""
        stochastic = self.training if stochastic is None else stochastic
        batch = images.shape[0]
        location = images.new_zeros(batch, 2)  # the first glimpse looks at the centre
        state = self.core.initial(batch, images)
        locations, log_probs, baselines = [location], [], []
        for step in range(self.glimpses):
            g = self.glimpse(self.sensor(images, location), location)
            state = self.core(g, state)
            if step < self.glimpses - 1:
                # The policy sees the state detached: location learning is REINFORCE's job only.
                decision = self.locator(state[0].detach(), stochastic)
                location = decision.location
                locations.append(location)
                log_probs.append(decision.log_prob)
                baselines.append(self.baseline(state[0]))
        empty = images.new_zeros(batch, 0)
        return {
            "logits": self.classifier(state[0]),
            "locations": torch.stack(locations, dim=1),
            "log_probs": torch.stack(log_probs, dim=1) if log_probs else empty,
            "baselines": torch.stack(baselines, dim=1) if baselines else empty,
        }

    @torch.no_grad()
    def predict_proba(self, images: Tensor, samples: int = 1) -> Tensor:
        """Class probabilities; ``samples`` > 1 averages that many sampled glimpse paths (Monte-Carlo)."""
        if samples <= 1:
            return self(images, stochastic=False)["logits"].softmax(-1)
        return torch.stack([self(images, stochastic=True)["logits"].softmax(-1) for _ in range(samples)]).mean(0)
