"""Text normalisation and edit distance, exactly as docs/evaluation.md (and METRICS.md) define them."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Unicode NFC, runs of whitespace collapsed to one space, ends stripped (the exact-match form)."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _keep_alnum(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd"


def normalize_ci_alnum(text: str) -> str:
    """The scene-text form: lower-cased, only Unicode letters (L*), marks (M*) and decimal digits (Nd) kept.

    NFC is applied before and after lower-casing, since lower-casing can decompose a character
    (``"İ".lower()`` is ``i`` plus a combining dot).
    """
    lowered = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())
    return "".join(c for c in lowered if _keep_alnum(c))


def tokens(text: str) -> list[str]:
    """Whitespace tokens of the NFC text."""
    return unicodedata.normalize("NFC", text).split()


def edit_distance(a: str | list[str], b: str | list[str]) -> int:
    """Levenshtein distance (unit costs) between two strings or two token lists."""
    return int(Levenshtein.distance(a, b))


def similarity(gt: str, pred: str) -> float:
    """1 − edit distance / max(len(gt), len(pred)); two empty strings are identical (1.0)."""
    longest = max(len(gt), len(pred))
    if longest == 0:
        return 1.0
    return 1.0 - edit_distance(gt, pred) / longest
