"""ViTSTR-style recogniser: patch embedding + transformer encoder, parallel (non-autoregressive) decoding.

Input: N×C×32×128 — a FIXED size (``height`` × ``width``, default 32×128): crops are resized to it,
aspect ratio not kept (its CropSpec sets min_width = max_width = width). ``max_len + 1`` learned query
tokens are prepended to the patch tokens; after the encoder, query i classifies character i of the
text, then EOS, then PAD (ids and ``num_classes`` as ``AttentionTokenizer``).
Output: ``{"logits": N×(max_len+1)×K}``; the text ends at the first EOS.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from textlens.data.charset import DecoderKind, default_num_classes
from textlens.errors import ConfigError
from textlens.models.registry import register_model

LATIN_PARALLEL_CLASSES = default_num_classes(DecoderKind.PARALLEL)  # PAD, SOS, EOS, then the latin charset


class ViTSTR(nn.Module):
    """Vision transformer over P×Q patches with ``max_len + 1`` character query tokens."""

    decoder = DecoderKind.PARALLEL

    def __init__(
        self,
        num_classes: int = LATIN_PARALLEL_CLASSES,
        in_channels: int = 1,
        height: int = 32,
        width: int = 128,
        patch: tuple[int, int] = (4, 8),
        dim: int = 192,
        depth: int = 12,
        heads: int = 3,
        max_len: int = 25,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        patch = (int(patch[0]), int(patch[1]))
        if height % patch[0] or width % patch[1]:
            raise ConfigError(f"ViTSTR input {height}×{width} is not a multiple of the patch {patch}")
        self.num_classes, self.in_channels, self.height, self.width = num_classes, in_channels, height, width
        self.max_len = max_len
        num_patches = (height // patch[0]) * (width // patch[1])
        self.patch_embed = nn.Conv2d(in_channels, dim, patch, patch)
        self.queries = nn.Parameter(torch.zeros(1, max_len + 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, max_len + 1 + num_patches, dim))
        nn.init.trunc_normal_(self.queries, std=0.02)
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.classifier = nn.Linear(dim, num_classes)

    def input_config(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "channels": self.in_channels,
            "min_width": self.width,
            "max_width": self.width,
            "width_multiple": 1,
        }

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        patches = torch.flatten(self.patch_embed(images), 2).transpose(1, 2)
        tokens = torch.cat([self.queries.expand(images.shape[0], -1, -1), patches], 1) + self.pos
        out = self.encoder(tokens)
        return {"logits": self.classifier(out[:, : self.max_len + 1])}


@register_model(
    "vitstr_tiny",
    family="recognition",
    num_classes=LATIN_PARALLEL_CLASSES,
    in_channels=1,
    height=32,
    width=128,
    dim=192,
    depth=12,
    heads=3,
    max_len=25,
)
def vitstr_tiny(**kwargs: Any) -> ViTSTR:
    """ViTSTR-Tiny (192-d, 12 layers, 3 heads) on fixed 32×128 crops, parallel decoding."""
    return ViTSTR(**kwargs)
