"""Predicted words and lines at the ground truth's level, and the reading-order text page CER compares.

These rules are part of the scoring definition (docs/evaluation.md), so they live here, frozen,
instead of reusing the reader's layout analysis, which may change to read better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from textlens.document import Box, Polygon, union_box

Level = Literal["word", "line"]
PredLevel = Literal["auto", "word", "line"]

# Words on one baseline farther apart than this many line heights belong to different lines
# (receipt columns: "TOTAL" ... "12.00" are two ground-truth lines on SROIE).
MERGE_GAP_FACTOR = 1.5
MERGE_MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class PredWord:
    """One predicted word or line: its text, box, optional polygon, and optional word-level parts."""

    text: str
    box: Box
    polygon: Polygon | None = None
    words: tuple[PredWord, ...] = ()
    confidence: float | None = None


def split_line(item: PredWord) -> list[PredWord]:
    """A line prediction as words: its own word parts when it has them, else a proportional split.

    The proportional split gives every character of the (whitespace-collapsed) line the same width,
    so a word's box spans exactly its characters' share of the line box.
    """
    if item.words:
        return list(item.words)
    text = " ".join(item.text.split())
    parts = text.split(" ")
    if len(parts) <= 1:
        return [item]
    x0, y0, x1, y1 = item.box
    step = (x1 - x0) / len(text)
    out: list[PredWord] = []
    start = 0
    for part in parts:
        end = start + len(part)
        out.append(PredWord(text=part, box=(x0 + start * step, y0, x0 + end * step, y1), confidence=item.confidence))
        start = end + 1
    return out


def _vertical_overlap(a: Box, b: Box) -> float:
    inter = min(a[3], b[3]) - max(a[1], b[1])
    shorter = max(min(a[3] - a[1], b[3] - b[1]), 1e-6)
    return max(0.0, inter) / shorter


def merge_words(words: Sequence[PredWord]) -> list[PredWord]:
    """Word predictions as lines: left to right, a word joins the line it overlaps vertically most
    (at least half the shorter height) if the gap from the line's right end is at most 1.5 line heights.

    The line's text is its words joined by single spaces and its box their union; the words are kept
    as the line's parts.
    """
    lines: list[list[PredWord]] = []
    boxes: list[Box] = []
    for word in sorted(words, key=lambda w: (w.box[0], w.box[1])):
        best, best_overlap = -1, MERGE_MIN_OVERLAP
        for i, lbox in enumerate(boxes):
            height = lbox[3] - lbox[1]
            overlap = _vertical_overlap(word.box, lbox)
            if overlap >= best_overlap and word.box[0] - lbox[2] <= MERGE_GAP_FACTOR * height:
                best, best_overlap = i, overlap
        if best < 0:
            lines.append([word])
            boxes.append(word.box)
        else:
            lines[best].append(word)
            boxes[best] = union_box([boxes[best], word.box])
    return [
        PredWord(text=" ".join(w.text for w in ws), box=box, words=tuple(ws))
        for ws, box in zip(lines, boxes, strict=True)
    ]


def infer_pred_level(preds: Sequence[PredWord]) -> Level:
    """A prediction list is taken as lines when any item has word parts or holds whitespace."""
    if any(p.words or len(p.text.split()) > 1 for p in preds):
        return "line"
    return "word"


def to_level(preds: Sequence[PredWord], level: Level, pred_level: PredLevel = "auto") -> list[PredWord]:
    """Bring predictions to the ground truth's level: split lines into words, or merge words into lines."""
    given = infer_pred_level(preds) if pred_level == "auto" else pred_level
    if level == "word":
        return [w for p in preds for w in split_line(p)] if given == "line" else list(preds)
    return merge_words(preds) if given == "word" else list(preds)


def reading_order(items: Sequence[tuple[str, Box]]) -> str:
    """Reading-order text: items grouped into lines by vertical centre, left to right, all joined by spaces.

    Items are taken in order of vertical centre; one joins the current line when its centre lies
    between the mean top and the mean bottom of the line's items, otherwise it starts a new line.
    """
    lines: list[list[tuple[str, Box]]] = []
    for text, box in sorted(items, key=lambda it: ((it[1][1] + it[1][3]) / 2, it[1][0])):
        centre = (box[1] + box[3]) / 2
        if lines:
            current = lines[-1]
            top = sum(b[1] for _, b in current) / len(current)
            bottom = sum(b[3] for _, b in current) / len(current)
            if top <= centre <= bottom:
                current.append((text, box))
                continue
        lines.append([(text, box)])
    ordered = [t for line in lines for t, _ in sorted(line, key=lambda it: it[1][0])]
    return " ".join(t for t in ordered if t.strip())
