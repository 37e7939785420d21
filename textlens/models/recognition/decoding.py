"""Turning recogniser outputs into text: greedy CTC collapse, EOS-terminated attention/parallel ids."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from textlens.data.charset import CTCTokenizer, Tokenizer


def ctc_greedy_ids(logits: Tensor, lengths: Sequence[int] | Tensor | None = None) -> list[list[int]]:
    """N×T×K logits → per item the collapsed label ids (repeats merged, blanks dropped)."""
    best = logits.argmax(-1).cpu()
    out = []
    for n in range(best.shape[0]):
        length = int(lengths[n]) if lengths is not None else best.shape[1]
        out.append(CTCTokenizer.collapse(best[n, :length].tolist()))
    return out


def decode_output(
    output: dict[str, Tensor], tokenizer: Tokenizer, lengths: Sequence[int] | Tensor | None = None
) -> list[str]:
    """Texts from a model's forward output, read with its decoder kind's ``tokenizer``; ``lengths`` (CTC only)
    limits each item's time steps."""
    if isinstance(tokenizer, CTCTokenizer):
        return [tokenizer.decode(ids) for ids in ctc_greedy_ids(output["logits"], lengths)]
    tokens = output.get("tokens")
    if tokens is None:
        tokens = output["logits"].argmax(-1)
    return [tokenizer.decode(row) for row in torch.as_tensor(tokens).cpu().tolist()]
