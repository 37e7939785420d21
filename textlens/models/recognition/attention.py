"""Attention recognisers: CNN + BiLSTM encoder, autoregressive decoder (Bahdanau or multi-head).

Input: N×C×H×W normalised crops (C = 1 or 3, H = ``height``: 32 or 48, any width multiple of 4).
Tokens follow ``textlens.data.charset.AttentionTokenizer`` (PAD, SOS, EOS, then the characters), whose
``num_classes`` is the output size (the default is the latin charset's).

``forward(images, targets)`` with targets N×L (decoder inputs, starting with SOS) returns teacher-forced
``{"logits": N×L×K}``, position i predicting token i+1. Without targets it greedy-decodes a fixed
``max_len + 1`` steps (no early exit, so the loop unrolls for export) and returns ``{"logits": N×L×K,
"tokens": N×L}``; the text ends at the first EOS. ``beam_search(images, beam)`` decodes with a beam.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from textlens.data.charset import AttentionTokenizer, DecoderKind, default_num_classes
from textlens.models.layers.attention import AdditiveAttention, TransformerDecoderBlock
from textlens.models.layers.conv import to_sequence
from textlens.models.layers.positional import LearnedPositionalEncoding, SinusoidalPositionalEncoding
from textlens.models.layers.sequence import BiLSTM
from textlens.models.recognition.backbones import build_backbone
from textlens.models.registry import register_model

PAD, SOS, EOS = AttentionTokenizer.pad, AttentionTokenizer.sos, AttentionTokenizer.eos
LATIN_ATTN_CLASSES = default_num_classes(DecoderKind.ATTENTION)  # PAD, SOS, EOS, then the latin charset


class AttentionRecognizer(nn.Module):
    """Shared encoder and decoding loops; subclasses define ``init_state`` and ``step``."""

    decoder = DecoderKind.ATTENTION
    time_stride = 4

    def __init__(
        self, num_classes: int, in_channels: int, height: int, backbone: str, enc_hidden: int, max_len: int
    ) -> None:
        super().__init__()
        self.num_classes, self.in_channels, self.height, self.max_len = (
            num_classes,
            in_channels,
            height,
            max_len,
        )
        self.backbone = build_backbone(backbone, in_channels, height)
        self.encoder = BiLSTM(self.backbone.out_channels, enc_hidden, layers=2)
        self.memory_dim = self.encoder.out_features

    def input_config(self) -> dict[str, Any]:
        return {"height": self.height, "channels": self.in_channels, "width_multiple": self.time_stride}

    def encode(self, images: Tensor) -> Tensor:
        """N×C×H×W → memory N×T×D."""
        return self.encoder(to_sequence(self.backbone(images)))

    def init_state(self, memory: Tensor) -> Any:
        raise NotImplementedError

    def step(self, memory: Tensor, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        """One decoding step: ``tokens`` N×i (all inputs so far) → logits N×K for the next, new state."""
        raise NotImplementedError

    def teacher_forced(self, memory: Tensor, targets: Tensor) -> Tensor:
        state = self.init_state(memory)
        logits = []
        for i in range(targets.shape[1]):
            out, state = self.step(memory, state, targets[:, : i + 1])
            logits.append(out)
        return torch.stack(logits, 1)

    def forward(self, images: Tensor, targets: Tensor | None = None) -> dict[str, Tensor]:
        memory = self.encode(images)
        if targets is not None:
            return {"logits": self.teacher_forced(memory, targets)}
        return self.greedy(memory)

    def greedy(self, memory: Tensor) -> dict[str, Tensor]:
        tokens = torch.full((memory.shape[0], 1), SOS, dtype=torch.long, device=memory.device)
        state = self.init_state(memory)
        logits = []
        for _ in range(self.max_len + 1):
            out, state = self.step(memory, state, tokens)
            logits.append(out)
            tokens = torch.cat([tokens, out.argmax(-1, keepdim=True)], 1)
        return {"logits": torch.stack(logits, 1), "tokens": tokens[:, 1:]}

    @torch.no_grad()
    def beam_search(self, images: Tensor, beam: int = 5) -> list[tuple[list[int], float]]:
        """Per image: the best token ids (no SOS/EOS) and their summed log-probability."""
        memory = self.encode(images)
        return [self._beam_one(memory[n : n + 1], beam) for n in range(memory.shape[0])]

    def _beam_one(self, memory: Tensor, beam: int) -> tuple[list[int], float]:
        mem = memory.expand(beam, -1, -1)
        state = self.init_state(mem)
        tokens = torch.full((beam, 1), SOS, dtype=torch.long, device=mem.device)
        # Only the first hypothesis is alive at the start, so the beam does not fill with copies.
        scores = torch.full((beam,), float("-inf"), device=mem.device)
        scores[0] = 0.0
        finished: list[tuple[list[int], float]] = []
        for _ in range(self.max_len + 1):
            logits, state = self.step(mem, state, tokens)
            candidates = (scores[:, None] + torch.log_softmax(logits.float(), -1)).flatten()
            top_scores, top_idx = candidates.topk(2 * beam)
            keep_rows, keep_tokens, keep_scores = [], [], []
            for score, idx in zip(top_scores.tolist(), top_idx.tolist(), strict=True):
                row, token = divmod(idx, self.num_classes)
                if token == EOS:
                    finished.append((tokens[row, 1:].tolist(), score))
                elif token != PAD and len(keep_rows) < beam:
                    keep_rows.append(row)
                    keep_tokens.append(token)
                    keep_scores.append(score)
            best_finished = max((s for _, s in finished), default=float("-inf"))
            if not keep_rows or best_finished >= max(keep_scores):
                break  # log-probs only fall, so no live hypothesis can beat the best finished one
            rows = torch.tensor(keep_rows + [keep_rows[0]] * (beam - len(keep_rows)), device=mem.device)
            next_tokens = torch.tensor(keep_tokens + [keep_tokens[0]] * (beam - len(keep_rows)), device=mem.device)
            tokens = torch.cat([tokens[rows], next_tokens[:, None]], 1)
            scores = torch.tensor(keep_scores + [float("-inf")] * (beam - len(keep_rows)), device=mem.device)
            state = self.reorder_state(state, rows)
        if not finished:
            finished.append((tokens[int(scores.argmax()), 1:].tolist(), float(scores.max())))
        return max(finished, key=lambda item: item[1])

    def reorder_state(self, state: Any, rows: Tensor) -> Any:
        if state is None:
            return None
        return tuple(s[rows] for s in state)


class BahdanauRecognizer(AttentionRecognizer):
    """LSTM-cell decoder with additive attention over the encoder memory."""

    def __init__(
        self,
        num_classes: int = LATIN_ATTN_CLASSES,
        in_channels: int = 1,
        height: int = 32,
        backbone: str = "mobile",
        enc_hidden: int = 128,
        hidden: int = 256,
        embed_dim: int = 128,
        max_len: int = 25,
    ) -> None:
        super().__init__(num_classes, in_channels, height, backbone, enc_hidden, max_len)
        self.hidden = hidden
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.attention = AdditiveAttention(hidden, self.memory_dim, hidden)
        self.cell = nn.LSTMCell(embed_dim + self.memory_dim, hidden)
        self.classifier = nn.Linear(hidden + self.memory_dim, num_classes)

    def init_state(self, memory: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        zeros = memory.new_zeros(memory.shape[0], self.hidden)
        # The projected keys are part of the state so they are computed once per image.
        return zeros, zeros, self.attention.project_keys(memory)

    def step(self, memory: Tensor, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        h, c, keys = state
        context, _ = self.attention(h, memory, keys)
        h, c = self.cell(torch.cat([self.embed(tokens[:, -1]), context], 1), (h, c))
        return self.classifier(torch.cat([h, context], 1)), (h, c, keys)


class MultiHeadRecognizer(AttentionRecognizer):
    """Transformer decoder (masked self-attention + multi-head cross-attention) over the memory."""

    def __init__(
        self,
        num_classes: int = LATIN_ATTN_CLASSES,
        in_channels: int = 1,
        height: int = 32,
        backbone: str = "mobile",
        enc_hidden: int = 128,
        dim: int = 256,
        heads: int = 8,
        layers: int = 2,
        max_len: int = 25,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(num_classes, in_channels, height, backbone, enc_hidden, max_len)
        self.memory_proj = nn.Linear(self.memory_dim, dim)
        self.memory_pos = SinusoidalPositionalEncoding(dim)
        self.embed = nn.Embedding(num_classes, dim)
        self.token_pos = LearnedPositionalEncoding(dim, max_len + 2)
        self.blocks = nn.ModuleList(TransformerDecoderBlock(dim, heads, dropout=dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.classifier = nn.Linear(dim, num_classes)

    def encode(self, images: Tensor) -> Tensor:
        return self.memory_pos(self.memory_proj(super().encode(images)))

    def init_state(self, memory: Tensor) -> None:
        return None

    def _decode(self, memory: Tensor, tokens: Tensor) -> Tensor:
        x = self.token_pos(self.embed(tokens))
        for block in self.blocks:
            x = block(x, memory)
        return self.classifier(self.norm(x))

    def teacher_forced(self, memory: Tensor, targets: Tensor) -> Tensor:
        return self._decode(memory, targets)

    def step(self, memory: Tensor, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        # Recomputes the prefix each step: simple, and short words make the quadratic cost small.
        return self._decode(memory, tokens)[:, -1], None


@register_model(
    "attn_bahdanau",
    family="recognition",
    num_classes=LATIN_ATTN_CLASSES,
    in_channels=1,
    height=32,
    backbone="mobile",
    max_len=25,
)
def attn_bahdanau(**kwargs: Any) -> BahdanauRecognizer:
    """Mobile backbone + BiLSTM encoder, LSTM decoder with additive (Bahdanau) attention."""
    return BahdanauRecognizer(**kwargs)


@register_model(
    "attn_mha",
    family="recognition",
    num_classes=LATIN_ATTN_CLASSES,
    in_channels=1,
    height=32,
    backbone="mobile",
    max_len=25,
)
def attn_mha(**kwargs: Any) -> MultiHeadRecognizer:
    """Mobile backbone + BiLSTM encoder, 2-layer transformer decoder with multi-head attention."""
    return MultiHeadRecognizer(**kwargs)
