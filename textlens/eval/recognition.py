"""Recognition metrics over a set of (ground truth, prediction) pairs of cropped words or lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textlens.eval.text import edit_distance, normalize, normalize_ci_alnum, similarity, tokens


@dataclass(frozen=True)
class RecognitionScores:
    """Set-level recognition scores; rates are fractions in [0, 1] (CER/WER may exceed 1)."""

    count: int
    word_acc: float
    word_acc_ci_alnum: float
    cer: float
    cer_ci_alnum: float
    wer: float
    ned: float  # mean 1-NED, higher is better


def _rate(errors: int, total: int) -> float:
    # An empty ground truth has no characters to get wrong: any predicted character is one full error.
    return errors / total if total else float(errors > 0)


def sample_similarity(gt: str, pred: str) -> float:
    """1-NED of one sample, on the normalised (NFC, whitespace-collapsed) strings."""
    return similarity(normalize(gt), normalize(pred))


def score_recognition(pairs: Iterable[tuple[str, str]]) -> RecognitionScores:
    """Score (truth, prediction) pairs as METRICS.md says: set-level CER/WER (total edits / total truth)."""
    count = exact = exact_ci = 0
    char_edits = char_total = ci_edits = ci_total = word_edits = word_total = 0
    ned_sum = 0.0
    for gt_raw, pred_raw in pairs:
        gt, pred = normalize(gt_raw), normalize(pred_raw)
        gt_ci, pred_ci = normalize_ci_alnum(gt_raw), normalize_ci_alnum(pred_raw)
        count += 1
        exact += gt == pred
        exact_ci += gt_ci == pred_ci
        char_edits += edit_distance(gt, pred)
        char_total += len(gt)
        ci_edits += edit_distance(gt_ci, pred_ci)
        ci_total += len(gt_ci)
        gt_tokens = tokens(gt)
        word_edits += edit_distance(gt_tokens, tokens(pred))
        word_total += len(gt_tokens)
        ned_sum += similarity(gt, pred)
    if count == 0:
        return RecognitionScores(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return RecognitionScores(
        count=count,
        word_acc=exact / count,
        word_acc_ci_alnum=exact_ci / count,
        cer=_rate(char_edits, char_total),
        cer_ci_alnum=_rate(ci_edits, ci_total),
        wer=_rate(word_edits, word_total),
        ned=ned_sum / count,
    )
