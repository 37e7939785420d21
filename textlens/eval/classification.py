"""Classification scores for digits and characters: accuracy, error rate and a confusion matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from textlens.eval.text import normalize


@dataclass(frozen=True)
class ClassificationScores:
    """Accuracy over labels (a multi-digit label is right only when all digits and its length are)."""

    count: int
    accuracy: float
    confusion: dict[tuple[str, str], int]  # (truth, prediction) -> count

    @property
    def error(self) -> float:
        return 1.0 - self.accuracy if self.count else 0.0

    @property
    def labels(self) -> list[str]:
        """Every label seen as truth or prediction, sorted (numbers numerically, then the rest)."""
        seen = {t for t, _ in self.confusion} | {p for _, p in self.confusion}
        return sorted(seen, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))

    def matrix(self) -> list[list[int]]:
        """Rows are truths, columns predictions, both in ``labels`` order."""
        labels = self.labels
        return [[self.confusion.get((t, p), 0) for p in labels] for t in labels]


def score_labels(pairs: Iterable[tuple[str, str]]) -> ClassificationScores:
    """Score (truth, prediction) labels; both are compared after NFC and whitespace collapsing."""
    confusion: Counter[tuple[str, str]] = Counter()
    for truth, pred in pairs:
        confusion[(normalize(truth), normalize(pred))] += 1
    count = sum(confusion.values())
    right = sum(n for (t, p), n in confusion.items() if t == p)
    return ClassificationScores(count=count, accuracy=right / count if count else 0.0, confusion=dict(confusion))


def sequence_error_by_length(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Share of wrong labels per true length (``{"1": 0.04, ...}``), compared as in ``score_labels``.

    Long digit strings are where a sequence reader such as DRAM fails; this shows how fast the error grows.
    """
    by_length: dict[int, list[bool]] = {}
    for truth, pred in pairs:
        truth, pred = normalize(truth), normalize(pred)
        by_length.setdefault(len(truth), []).append(truth != pred)
    return {str(length): round(sum(wrong) / len(wrong), 5) for length, wrong in sorted(by_length.items())}
