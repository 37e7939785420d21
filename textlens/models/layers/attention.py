"""Attention modules for decoders: additive (Bahdanau) attention over an encoded sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score_t = vᵀ tanh(W·query + U·key_t); returns (context N×C, weights N×T).

    ``project_keys`` lets a decoder compute U·keys once per image instead of once per step.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_dim, hidden, bias=False)
        self.key = nn.Linear(key_dim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key(keys)

    def forward(self, query: Tensor, keys: Tensor, projected_keys: Tensor) -> tuple[Tensor, Tensor]:
        energy = self.score(torch.tanh(projected_keys + self.query(query).unsqueeze(1))).squeeze(2)
        weights = torch.softmax(energy, dim=1)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)
        return context, weights
