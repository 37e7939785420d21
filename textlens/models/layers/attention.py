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


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention (query N×L×D over keys/values N×S×D).

    Reshapes use -1 for the sequence lengths, so an exported graph keeps L and S dynamic (the traced
    ``nn.MultiheadAttention`` bakes the key length of the example input into its reshapes).
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads, self.head_dim, self.dropout = heads, dim // heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, query: Tensor, memory: Tensor, causal: bool = False) -> Tensor:
        n = query.shape[0]
        q = self.query(query).reshape(n, -1, self.heads, self.head_dim).transpose(1, 2)
        k, v = self.key_value(memory).reshape(n, -1, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        return self.out(out.transpose(1, 2).reshape(n, -1, self.heads * self.head_dim))


class TransformerDecoderBlock(nn.Module):
    """Pre-norm decoder block: causal self-attention, cross-attention to the memory, then an MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, heads, dropout)
        self.cross_attn = MultiHeadAttention(dim, heads, dropout)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_ratio * dim, dim)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.self_attn(h, h, causal=True))
        x = x + self.drop(self.cross_attn(self.norm2(x), memory))
        return x + self.drop(self.mlp(self.norm3(x)))
