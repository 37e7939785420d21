"""Key-information scores (docs/evaluation.md): a field is right when its string equals the label after
collapsing whitespace (case-sensitive); per-field accuracy and micro precision / recall / F1 over the fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def score_fields(
    pairs: Iterable[tuple[Mapping[str, str | None], Mapping[str, str | None]]], fields: Sequence[str]
) -> dict[str, Any]:
    """``pairs`` of (prediction, truth) dicts → ``{precision, recall, f1, <field>: accuracy, count}``.

    A predicted field counts as predicted when non-empty, a truth field as a truth when non-empty; a hit is a
    non-empty prediction equal to a non-empty truth. P = hits / predicted, R = hits / truths; a field's accuracy
    is the share of documents whose prediction equals the truth (both empty counts as right).
    """
    hits = predicted = truths = count = 0
    right = dict.fromkeys(fields, 0)
    for pred, truth in pairs:
        count += 1
        for name in fields:
            p, t = collapse(pred.get(name)), collapse(truth.get(name))
            predicted += bool(p)
            truths += bool(t)
            hits += bool(p) and p == t
            right[name] += p == t
    precision = hits / predicted if predicted else float(not truths)
    recall = hits / truths if truths else float(not predicted)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out: dict[str, Any] = {"count": count, "precision": precision, "recall": recall, "f1": f1}
    out.update({name: right[name] / count if count else 0.0 for name in fields})
    return out
