"""Positional encodings for N×T×C sequences: fixed sinusoids (any length) and learned (fixed length)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the Transformer's sine/cosine positions; a buffer of ``max_len`` positions is sliced to T."""

    def __init__(self, dim: int, max_len: int = 1024, dropout: float = 0.0) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(position * div)
        table[:, 1::2] = torch.cos(position * div[: dim // 2])
        self.register_buffer("table", table.unsqueeze(0), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(x + self.table[:, : x.shape[1]])


class LearnedPositionalEncoding(nn.Module):
    """Adds a learned embedding per position (sequences up to ``max_len``)."""

    def __init__(self, dim: int, max_len: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(1, max_len, dim))
        nn.init.trunc_normal_(self.table, std=0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(x + self.table[:, : x.shape[1]])
