"""Turning recogniser outputs into text: greedy CTC collapse, EOS-terminated attention/parallel ids."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from textlens.data.charset import AttentionTokenizer, Charset, CTCTokenizer


def ctc_greedy_ids(logits: Tensor, lengths: Sequence[int] | Tensor | None = None) -> list[list[int]]:
    """N×T×K logits → per item the collapsed label ids (repeats merged, blanks dropped)."""
    best = logits.argmax(-1).cpu()
    tokenizer_collapse = CTCTokenizer(Charset("")).collapse
    out = []
    for n in range(best.shape[0]):
        length = int(lengths[n]) if lengths is not None else best.shape[1]
        out.append(tokenizer_collapse(best[n, :length].tolist()))
    return out


def decode_output(
    output: dict[str, Tensor], decoder: str, charset: Charset, lengths: Sequence[int] | Tensor | None = None
) -> list[str]:
    """Texts from a model's forward output. ``lengths`` (CTC only) limits each item's time steps."""
    if decoder == "ctc":
        tokenizer = CTCTokenizer(charset)
        return [tokenizer.decode_ids(ids) for ids in ctc_greedy_ids(output["logits"], lengths)]
    tokens = output.get("tokens")
    if tokens is None:
        tokens = output["logits"].argmax(-1)
    attn = AttentionTokenizer(charset)
    return [attn.decode_ids(row) for row in torch.as_tensor(tokens).cpu().tolist()]
