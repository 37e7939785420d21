"""Forms → entities (question / answer / header / other) and question→answer links, as key-value pairs.

A small layout-aware model over the page's words, numpy only: logistic regressions (``lines.LineClassifier``)
where hashed words matter, boosted decision trees (``lines.BoostedTrees``) where dense cues combine:

1. **words**: each word's label from its text (hashed word, casing, a colon at its end, digits), box (position,
   size) and neighbours (the words left, right, above and below: gaps, colons, casing), in two linear passes;
2. **grouping**, in two steps of trees: (a) for every pair of neighbouring words (side by side on a row, or one
   under the other), whether they belong to the same entity, from their gap against the gaps beside them,
   alignment, sizes, text cues and the word labels of step 1; side-by-side pairs kept join into row segments;
   (b) for every pair of segments one above the other, whether they are one entity, from the segments as a
   whole (alignment, widths, the text at the break, their labels); entities are the connected groups;
3. **entities**: each entity's label from its words' mean label probabilities, its box, its text and the
   entities beside it (two linear passes), then trees over those probabilities and the dense features;
4. **links**: for every (question, answer) pair on the page, whether the question asks for that answer, from
   their relative position, distance, alignment, distance ranks and labels; decoded greedily, each answer
   taking its most probable question when that is above the link threshold.

Parameters: ``textlens/models/weights/_extract/form_kie`` (weights.npz, plain arrays; config.json; MODEL.md),
trained by ``textlens extract train --task form`` (recipes/extract_form.sh). See docs/extraction.md.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Box, Document, Word, union_box, vertical_overlap
from textlens.errors import MissingWeights
from textlens.extract.base import Extraction, Field
from textlens.extract.lines import BoostedTrees, LineClassifier, load_npz
from textlens.models.bundle import WEIGHTS_ROOT

LABELS = ("other", "question", "answer", "header")
DEFAULT_BUNDLE = WEIGHTS_ROOT / "_extract" / "form_kie"
HASH_BUCKETS = 1024
_DIGIT = re.compile(r"\d")


# ----------------------------------------------------------------------------------------------- geometry


def _h(box: Box) -> float:
    return max(box[3] - box[1], 1.0)


def _h_overlap(a: Box, b: Box) -> float:
    """Horizontal overlap over the narrower width."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    return max(inter, 0.0) / max(min(a[2] - a[0], b[2] - b[0]), 1.0)


def rows_of_words(words: Sequence[Word]) -> list[list[int]]:
    """Word indices grouped into rows (vertical overlap ≥ half), top to bottom, each row left to right."""
    order = sorted(range(len(words)), key=lambda i: (words[i].box[1] + words[i].box[3]) / 2)
    rows: list[list[int]] = []
    for i in order:
        for row in reversed(rows[-4:]):
            if any(vertical_overlap(words[i].box, words[j].box) >= 0.5 for j in row):
                row.append(i)
                break
        else:
            rows.append([i])
    return [sorted(row, key=lambda i: words[i].box[0]) for row in rows]


@dataclass
class Neighbours:
    """Each word's nearest neighbour left, right, above and below (index or -1), and the candidate edges."""

    left: np.ndarray
    right: np.ndarray
    above: np.ndarray
    below: np.ndarray
    edges: list[tuple[int, int, int]]  # (a, b, kind): kind 0 = a left of b on a row, 1 = a above b


def neighbours_of(words: Sequence[Word]) -> Neighbours:
    n = len(words)
    left, right, above, below = (np.full(n, -1, dtype=np.int64) for _ in range(4))
    rows = rows_of_words(words)
    edges: list[tuple[int, int, int]] = []
    for row in rows:
        for a, b in itertools.pairwise(row):
            right[a], left[b] = b, a
            edges.append((a, b, 0))
    # above: the nearest word higher up that overlaps horizontally, within three heights
    tops = np.array([w.box[1] for w in words]) if n else np.zeros(0)
    bottoms = np.array([w.box[3] for w in words]) if n else np.zeros(0)
    for b in range(n):
        wb = words[b]
        best, best_gap = -1, 3.0 * _h(wb.box)
        candidates = np.nonzero(bottoms <= tops[b] + 0.5 * _h(wb.box))[0]
        for a in candidates:
            if a == b or _h_overlap(words[a].box, wb.box) <= 0.0:
                continue
            if (words[a].box[1] + words[a].box[3]) / 2 >= (wb.box[1] + wb.box[3]) / 2:
                continue
            gap = wb.box[1] - words[a].box[3]
            if gap < best_gap:
                best, best_gap = int(a), gap
        if best >= 0:
            above[b] = best
            if below[best] < 0 or words[b].box[0] < words[below[best]].box[0]:
                below[best] = b
            edges.append((best, b, 1))
    return Neighbours(left, right, above, below, edges)


# ----------------------------------------------------------------------------------------------- features


def _token(text: str) -> str:
    return _DIGIT.sub("0", text.lower().strip(".,;()[]\"'"))


def _hash(token: str, buckets: int = HASH_BUCKETS) -> int:
    return zlib.crc32(token.encode("utf-8")) % buckets


def _text_features(text: str) -> list[float]:
    n = max(len(text), 1)
    letters = [c for c in text if c.isalpha()]
    return [
        min(len(text), 20) / 20,
        1.0 if letters and all(c.isupper() for c in letters) else 0.0,
        1.0 if text[:1].isupper() else 0.0,
        1.0 if text[:1].islower() else 0.0,
        1.0 if text.rstrip().endswith(":") else 0.0,
        1.0 if ":" in text else 0.0,
        sum(c.isdigit() for c in text) / n,
        1.0 if not letters else 0.0,
        1.0 if "/" in text or "-" in text else 0.0,
        1.0 if "$" in text or "%" in text else 0.0,
        1.0 if text.startswith("(") or text.endswith(")") else 0.0,
        1.0 if len(text) == 1 else 0.0,
        1.0 if text.endswith((".", ",")) else 0.0,
        1.0 if re.fullmatch(r"[\W_]+", text) else 0.0,
    ]


TEXT_DIM = 14
OWN_DIM = 6 + TEXT_DIM
NB_DIM = 6  # per neighbour: present, gap, ends ':', capitals, digits share, height ratio


def word_features(words: Sequence[Word], width: float, height: float, nb: Neighbours) -> np.ndarray:
    """One row per word: its text and box, four neighbours, hashed word and hashed neighbour words."""
    n = len(words)
    dim = word_feature_count()
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    W, H = max(width, 1.0), max(height, 1.0)
    heights = sorted(_h(w.box) for w in words)
    mh = heights[len(heights) // 2]
    text = [_text_features(w.text) for w in words]
    out = np.zeros((n, dim), dtype=np.float32)
    for i, w in enumerate(words):
        x0, y0, x1, y1 = w.box
        own = [x0 / W, x1 / W, (y0 + y1) / 2 / H, (x1 - x0) / W, min(_h(w.box) / mh, 4.0), 1.0, *text[i]]
        feats = own
        for j, horizontal in ((nb.left[i], True), (nb.right[i], True), (nb.above[i], False), (nb.below[i], False)):
            if j < 0:
                feats += [0.0] * NB_DIM
                continue
            o = words[j].box
            gap = (max(o[0], x0) - min(o[2], x1)) if horizontal else (max(o[1], y0) - min(o[3], y1))
            gap /= mh
            feats += [1.0, min(max(gap, -1.0), 10.0) / 5, text[j][4], text[j][1], text[j][6],
                      min(_h(o) / _h(w.box), 4.0)]  # fmt: skip
        base = OWN_DIM + 4 * NB_DIM
        out[i, :base] = feats
        out[i, base + _hash(_token(w.text))] = 1.0
        for k, j in enumerate((nb.left[i], nb.right[i])):
            if j >= 0:
                out[i, base + HASH_BUCKETS + k * 64 + _hash(_token(words[j].text), 64)] = 1.0
    return out


def word_feature_count() -> int:
    return OWN_DIM + 4 * NB_DIM + HASH_BUCKETS + 2 * 64


def stacked_features(features: np.ndarray, probs: np.ndarray, nb: Neighbours) -> np.ndarray:
    """The second word pass: a word's features, its first-pass label probabilities and those of its four
    neighbours (zeros where it has none)."""
    padded = np.concatenate([probs, np.zeros((1, probs.shape[1]), dtype=probs.dtype)])
    parts = [features, probs, padded[nb.left], padded[nb.right], padded[nb.above], padded[nb.below]]
    return np.concatenate(parts, axis=1).astype(np.float32)


_JOINING_WORDS = frozenset(("and", "of", "the", "to", "for", "in", "or", "&", "a", "on", "by", "with"))


def _row_gap(words: Sequence[Word], a: int, b: int, mh: float) -> float:
    """The gap from word ``a`` to word ``b`` on its right, in median word heights (10 where either is missing)."""
    if a < 0 or b < 0:
        return 10.0
    return min(max((words[b].box[0] - words[a].box[2]) / mh, -1.0), 10.0)


def pair_features(words: Sequence[Word], nb: Neighbours, probs: np.ndarray) -> np.ndarray:
    """One row per candidate edge of ``nb`` for the boosted trees: the gap against the page's word height, the
    pair's heights and the gaps beside the pair on its row, edge alignments, row ends, the two words' text cues
    (colons, casing, digits, joining words, lone symbols) and their label probabilities."""
    edges = nb.edges
    if not edges:
        return np.zeros((0, PAIR_DIM), dtype=np.float32)
    heights = sorted(_h(w.box) for w in words)
    mh = heights[len(heights) // 2]
    rows = []
    for a, b, kind in edges:
        A, B = words[a].box, words[b].box
        ha, hb = _h(A), _h(B)
        ta, tb = words[a].text, words[b].text
        gap = (B[0] - A[2]) if kind == 0 else (B[1] - A[3])
        before, after = _row_gap(words, int(nb.left[a]), a, mh), _row_gap(words, b, int(nb.right[b]), mh)
        rows.append([
            gap / mh, gap / ((ha + hb) / 2), before, after, gap / mh - min(before, after), abs(ha - hb) / mh,
            ha / mh, hb / mh, (A[2] - A[0]) / mh, (B[2] - B[0]) / mh, (A[0] - B[0]) / mh, (A[2] - B[2]) / mh,
            ((A[0] + A[2]) - (B[0] + B[2])) / 2 / mh, vertical_overlap(A, B), _h_overlap(A, B), float(kind),
            float(nb.right[a] < 0), float(nb.left[b] < 0), float(nb.left[a] < 0), float(nb.right[b] < 0),
            float(ta.endswith(":")), float(tb.endswith(":")), float(ta.endswith((",", "-", "&"))),
            float(tb[:1].islower()), float(ta.isupper()), float(tb.isupper()), float(ta[:1].isupper()),
            float(tb[:1].isupper()), float(bool(_DIGIT.search(ta))), float(bool(_DIGIT.search(tb))),
            float(ta.lower() in _JOINING_WORDS), float(len(ta) == 1), float(len(tb) == 1),
            float(not any(c.isalnum() for c in ta)), float(not any(c.isalnum() for c in tb)),
        ])  # fmt: skip
    out = np.asarray(rows, dtype=np.float32)
    pa, pb = probs[[a for a, _, _ in edges]], probs[[b for _, b, _ in edges]]
    same = (pa * pb).sum(axis=1, keepdims=True)
    agree = (pa.argmax(axis=1) == pb.argmax(axis=1)).astype(np.float32)[:, None]
    return np.concatenate([out, pa, pb, same, agree], axis=1).astype(np.float32)


PAIR_DIM = 35 + 2 * len(LABELS) + 2


def union_groups(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """The connected groups of ``range(n)`` over ``pairs`` (union-find), each in index order."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def row_segments(words: Sequence[Word], edges: Sequence[tuple[int, int, int]], join: np.ndarray,
                 threshold: float) -> list[tuple[int, ...]]:  # fmt: skip
    """Runs of words on one row joined by the side-by-side edges whose probability is ≥ ``threshold``, each
    left to right."""
    kept = [(a, b) for (a, b, kind), p in zip(edges, join, strict=True) if kind == 0 and p >= threshold]
    return [tuple(sorted(g, key=lambda i: words[i].box[0])) for g in union_groups(len(words), kept)]


def _caps_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / max(len(letters), 1)


SEGMENT_DIM = 35 + 2 * len(LABELS) + 2


def segment_pairs(words: Sequence[Word], width: float, height: float, nb: Neighbours,
                  segments: Sequence[tuple[int, ...]], join: np.ndarray,
                  probs: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:  # fmt: skip
    """The (upper, lower) segment pairs that a word edge one above the other connects, and one feature row per
    pair: the gap, edge alignments, widths and heights, the word edges between them (count, probabilities),
    the text cues at the break (a colon or full stop ending the upper one, a lower-case start of the lower
    one), capitals, row ends, how many candidates each has and both segments' mean label probabilities."""
    segment_of = np.zeros(len(words), dtype=np.int64)
    for s, members in enumerate(segments):
        segment_of[list(members)] = s
    between: dict[tuple[int, int], list[float]] = {}
    for (a, b, kind), p in zip(nb.edges, join, strict=True):
        if kind == 1 and segment_of[a] != segment_of[b]:
            between.setdefault((int(segment_of[a]), int(segment_of[b])), []).append(float(p))
    keys = list(between)
    if not keys:
        return [], np.zeros((0, SEGMENT_DIM), dtype=np.float32)
    heights = sorted(_h(w.box) for w in words)
    mh = heights[len(heights) // 2]
    boxes = [union_box(words[i].box for i in members) for members in segments]
    uppers: dict[int, int] = {}
    lowers: dict[int, int] = {}
    for s, t in keys:
        lowers[s] = lowers.get(s, 0) + 1
        uppers[t] = uppers.get(t, 0) + 1
    rows = []
    for s, t in keys:
        S, T, upper, lower = boxes[s], boxes[t], segments[s], segments[t]
        hs = float(np.mean([_h(words[i].box) for i in upper]))
        ht = float(np.mean([_h(words[i].box) for i in lower]))
        shared = max(min(S[2], T[2]) - max(S[0], T[0]), 0.0)
        last, first = words[upper[-1]].text, words[lower[0]].text
        ps, pt = probs[list(upper)].mean(axis=0), probs[list(lower)].mean(axis=0)
        p = between[(s, t)]
        rows.append([
            (T[1] - S[3]) / mh, (S[0] - T[0]) / mh, (S[2] - T[2]) / mh, ((S[0] + S[2]) - (T[0] + T[2])) / 2 / mh,
            (S[2] - S[0]) / mh, (T[2] - T[0]) / mh, hs / mh, ht / mh, abs(hs - ht) / mh, _h_overlap(S, T),
            shared / max(S[2] - S[0], 1.0), shared / max(T[2] - T[0], 1.0), min(len(upper), 30), min(len(lower), 30),
            len(p), max(p), float(np.mean(p)), len(p) / len(lower), float(last.endswith(":")),
            float(last.endswith(".")), float(last.endswith((",", "-", "&"))), float(first[:1].islower()),
            float(first[:1].isupper()), float(words[lower[-1]].text.endswith(":")),
            float(words[upper[0]].text.endswith(":")), _caps_share("".join(words[i].text for i in upper)),
            _caps_share("".join(words[i].text for i in lower)), float(nb.right[upper[-1]] >= 0),
            float(nb.left[lower[0]] >= 0), float(nb.left[upper[0]] >= 0), float(nb.right[lower[-1]] >= 0),
            uppers.get(t, 0), lowers.get(s, 0), S[1] / max(height, 1.0), S[0] / max(width, 1.0),
            *ps, *pt, float((ps * pt).sum()), float(ps.argmax() == pt.argmax()),
        ])  # fmt: skip
    return keys, np.asarray(rows, dtype=np.float32)


@dataclass
class Entity:
    """A group of words with a label (index into LABELS) and its label probabilities."""

    words: tuple[int, ...]
    label: int = 0
    probs: np.ndarray = field(default_factory=lambda: np.zeros(len(LABELS), dtype=np.float32))

    def box(self, words: Sequence[Word]) -> Box:
        return union_box(words[i].box for i in self.words)

    def text(self, words: Sequence[Word]) -> str:
        return " ".join(words[i].text for i in self.words)


def order_entity_words(group: Sequence[int], words: Sequence[Word]) -> tuple[int, ...]:
    """The words of one entity in reading order (rows top to bottom, each left to right)."""
    sub = [words[i] for i in group]
    return tuple(group[j] for row in rows_of_words(sub) for j in row)


ENTITY_DIM = 16 + 2 * len(LABELS)
ENTITY_BUCKETS = 1024


def _above_below(boxes: Sequence[Box]) -> tuple[list[int], list[int]]:
    """Each box's nearest box above and below that overlaps it horizontally (index or -1)."""
    above, below = [-1] * len(boxes), [-1] * len(boxes)
    for k, b in enumerate(boxes):
        best_a = best_b = 1e9
        for m, o in enumerate(boxes):
            if m == k or _h_overlap(o, b) <= 0.0:
                continue
            if o[3] <= b[1] + 2 and b[1] - o[3] < best_a:
                above[k], best_a = m, b[1] - o[3]
            if o[1] >= b[3] - 2 and o[1] - b[3] < best_b:
                below[k], best_b = m, o[1] - b[3]
    return above, below


def entity_features(entities: Sequence[Entity], words: Sequence[Word], width: float, height: float,
                    word_probs: np.ndarray) -> np.ndarray:  # fmt: skip
    """One row per entity: mean word label probabilities, box, text, hashed words, the entities left and right."""
    n = len(entities)
    dim = entity_feature_count()
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    W, H = max(width, 1.0), max(height, 1.0)
    heights = sorted(_h(w.box) for w in words)
    mh = heights[len(heights) // 2]
    boxes = [e.box(words) for e in entities]
    means = np.stack([word_probs[list(e.words)].mean(axis=0) for e in entities])
    above, below = _above_below(boxes)
    out = np.zeros((n, dim), dtype=np.float32)
    for k, e in enumerate(entities):
        x0, y0, x1, y1 = boxes[k]
        text = e.text(words)
        tf = _text_features(text)
        nrows = len(rows_of_words([words[i] for i in e.words]))
        mean_h = float(np.mean([_h(words[i].box) for i in e.words])) / mh
        # nearest entity to the left / right on the same row
        left = right = -1
        dl = dr = 1e9
        for m, b in enumerate(boxes):
            if m == k or vertical_overlap(b, boxes[k]) < 0.5:
                continue
            if b[2] <= x0 + 2 and x0 - b[2] < dl:
                left, dl = m, x0 - b[2]
            if b[0] >= x1 - 2 and b[0] - x1 < dr:
                right, dr = m, b[0] - x1
        dense = [x0 / W, x1 / W, y0 / H, y1 / H, (x1 - x0) / W, min(len(e.words), 30) / 30, min(nrows, 10) / 10,
                 min(mean_h, 4.0), tf[0], tf[1], tf[4], tf[6], tf[7],
                 1.0 if left >= 0 else 0.0, 1.0 if right >= 0 else 0.0, 1.0]  # fmt: skip
        out[k, : len(dense)] = dense
        out[k, 16 : 16 + len(LABELS)] = means[k]
        if right >= 0:
            out[k, 16 + len(LABELS) : 16 + 2 * len(LABELS)] = means[right]
        base = ENTITY_DIM
        out[k, base : base + len(LABELS)] = means[left] if left >= 0 else 0.0
        for m in (above[k], below[k]):
            base += len(LABELS)
            out[k, base : base + len(LABELS)] = means[m] if m >= 0 else 0.0
        base += len(LABELS)
        for i in e.words:
            out[k, base + _hash(_token(words[i].text), ENTITY_BUCKETS)] = 1.0
    return out


def entity_neighbours(entities: Sequence[Entity], words: Sequence[Word]) -> np.ndarray:
    """Each entity's nearest entity left and right on its row, above and below it: (n, 4) indices or -1."""
    boxes = [e.box(words) for e in entities]
    above, below = _above_below(boxes)
    out = np.full((len(boxes), 4), -1, dtype=np.int64)
    for k, b in enumerate(boxes):
        dl = dr = 1e9
        for m, o in enumerate(boxes):
            if m == k or vertical_overlap(o, b) < 0.5:
                continue
            if o[2] <= b[0] + 2 and b[0] - o[2] < dl:
                out[k, 0], dl = m, b[0] - o[2]
            if o[0] >= b[2] - 2 and o[0] - b[2] < dr:
                out[k, 1], dr = m, o[0] - b[2]
        out[k, 2], out[k, 3] = above[k], below[k]
    return out


def entity_stack(features: np.ndarray, probs: np.ndarray, nbrs: np.ndarray) -> np.ndarray:
    """The second entity pass: an entity's features, its first-pass label probabilities and its neighbours'."""
    padded = np.concatenate([probs, np.zeros((1, probs.shape[1]), dtype=probs.dtype)])
    return np.concatenate([features, probs, *(padded[nbrs[:, c]] for c in range(4))], axis=1).astype(np.float32)


def entity_feature_count() -> int:
    return ENTITY_DIM + 3 * len(LABELS) + ENTITY_BUCKETS


def entity_tree_features(features: np.ndarray, probs: np.ndarray, nbrs: np.ndarray) -> np.ndarray:
    """The boosted trees' entity rows: the dense part of ``entity_features`` (box, text, the neighbours' mean word
    labels; not the hashed words), the linear passes' label probabilities and those of the four neighbours."""
    padded = np.concatenate([probs, np.zeros((1, probs.shape[1]), dtype=probs.dtype)])
    dense = features[:, : ENTITY_DIM + 3 * len(LABELS)]
    return np.concatenate([dense, probs, *(padded[nbrs[:, c]] for c in range(4))], axis=1).astype(np.float32)


LINK_DIM = 22


def link_candidates(entities: Sequence[Entity]) -> list[tuple[int, int]]:
    q = [k for k, e in enumerate(entities) if LABELS[e.label] == "question"]
    a = [k for k, e in enumerate(entities) if LABELS[e.label] == "answer"]
    return [(i, j) for j in a for i in q]


def link_features(entities: Sequence[Entity], words: Sequence[Word], width: float, height: float,
                  pairs: Sequence[tuple[int, int]]) -> np.ndarray:  # fmt: skip
    """One row per (question, answer) pair: relative position, distance, alignment, ranks and labels."""
    if not pairs:
        return np.zeros((0, LINK_DIM), dtype=np.float32)
    W, H = max(width, 1.0), max(height, 1.0)
    heights = sorted(_h(w.box) for w in words)
    mh = heights[len(heights) // 2]
    boxes = [e.box(words) for e in entities]

    def dist(i: int, j: int) -> float:
        q, a = boxes[i], boxes[j]
        dx = max(a[0] - q[2], q[0] - a[2], 0.0)
        dy = max(a[1] - q[3], q[1] - a[3], 0.0)
        return float(np.hypot(dx, dy))

    d = {p: dist(*p) for p in pairs}
    by_answer: dict[int, list[float]] = {}
    by_question: dict[int, list[float]] = {}
    for (i, j), v in d.items():
        by_answer.setdefault(j, []).append(v)
        by_question.setdefault(i, []).append(v)
    rows = []
    for i, j in pairs:
        q, a = boxes[i], boxes[j]
        rank_a = sum(v < d[(i, j)] for v in by_answer[j])
        rank_q = sum(v < d[(i, j)] for v in by_question[i])
        qtext = entities[i].text(words)
        right_of = 1.0 if a[0] >= q[2] - 0.5 * mh and vertical_overlap(q, a) > 0.3 else 0.0
        below = 1.0 if a[1] >= q[3] - 0.3 * mh else 0.0
        rows.append([
            1.0, (a[0] - q[2]) / W, (a[0] - q[0]) / W, ((a[1] + a[3]) - (q[1] + q[3])) / 2 / H,
            min(d[(i, j)] / mh, 60.0) / 20, 1.0 / (1.0 + d[(i, j)] / mh), vertical_overlap(q, a), _h_overlap(q, a),
            right_of, below, 1.0 if a[3] <= q[1] else 0.0, 1.0 if a[2] <= q[0] else 0.0,
            min(abs(a[0] - q[0]) / mh, 20.0) / 10, 1.0 if rank_a == 0 else 0.0, 1.0 if rank_q == 0 else 0.0,
            min(rank_a, 10) / 10, min(rank_q, 10) / 10, 1.0 if qtext.rstrip().endswith(":") else 0.0,
            float(entities[i].probs[1]), float(entities[j].probs[2]), right_of * (1.0 if rank_a == 0 else 0.0),
            below * _h_overlap(q, a),
        ])  # fmt: skip
    return np.asarray(rows, dtype=np.float32)


# ----------------------------------------------------------------------------------------------- model


def group_entities(n: int, edges: Sequence[tuple[int, int, int]], keep: np.ndarray,
                   words: Sequence[Word]) -> list[tuple[int, ...]]:  # fmt: skip
    """Connected groups of words over the kept edges (union-find), each in reading order, in page order."""
    kept = [(a, b) for (a, b, _), k in zip(edges, keep, strict=True) if k]
    return _in_page_order(union_groups(n, kept), words)


def _in_page_order(groups: Sequence[Sequence[int]], words: Sequence[Word]) -> list[tuple[int, ...]]:
    ordered = [order_entity_words(g, words) for g in groups]
    return sorted(ordered, key=lambda g: (words[g[0]].box[1], words[g[0]].box[0]))


@dataclass
class FormResult:
    """Entities (word indices into ``words``, label) and question→answer links (entity index pairs)."""

    words: list[Word]
    entities: list[Entity]
    links: list[tuple[int, int, float]]

    def entity_dicts(self) -> list[dict[str, Any]]:
        out = []
        for k, e in enumerate(self.entities):
            conf = float(e.probs[e.label]) * float(np.mean([self.words[i].confidence for i in e.words]))
            out.append({"id": k, "label": LABELS[e.label], "text": e.text(self.words),
                        "confidence": round(conf, 4), "box": [round(float(v), 2) for v in e.box(self.words)],
                        "words": list(e.words)})  # fmt: skip
        return out

    def pairs(self) -> list[dict[str, Any]]:
        """Key-value pairs: each linked question's text and its answers' texts."""
        out = []
        for i, j, p in self.links:
            out.append({"key": self.entities[i].text(self.words), "value": self.entities[j].text(self.words),
                        "question": i, "answer": j, "confidence": round(float(p), 4)})  # fmt: skip
        return out


class FormExtractor:
    """Forms → entities and question→answer links (``analyse``), and key-value pairs as an Extraction."""

    task = "form"
    fields: tuple[str, ...] = ()

    def __init__(self, model: str | Path | None = None, link_threshold: float | None = None) -> None:
        folder = Path(model) if model is not None else DEFAULT_BUNDLE
        config_path, weights_path = folder / "config.json", folder / "weights.npz"
        if not config_path.is_file() or not weights_path.is_file():
            raise MissingWeights(f"no form extractor bundle (config.json, weights.npz) in {folder}")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MissingWeights(f"{config_path} is not valid JSON ({exc})") from exc
        self._load(load_npz(weights_path), config, str(config.get("name", folder.name)))
        if link_threshold is not None:
            self.link_threshold = float(link_threshold)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> FormExtractor:
        """An extractor from trained arrays and config entries held in memory (training chooses its thresholds
        with these)."""
        extractor = cls.__new__(cls)
        extractor._load(arrays, config, str(config.get("name", "form")))
        return extractor

    def _load(self, arrays: dict[str, np.ndarray], config: dict[str, Any], name: str) -> None:
        self.config = config
        self.name = name
        self.words_model = LineClassifier.from_arrays(arrays, "words", LABELS)
        self.words2_model = LineClassifier.from_arrays(arrays, "words2", LABELS)
        self.edges_model = BoostedTrees.from_arrays(arrays, "edges", ("split", "join"))
        self.segments_model = BoostedTrees.from_arrays(arrays, "segments", ("split", "join"))
        self.entities_model = LineClassifier.from_arrays(arrays, "entities", LABELS)
        self.entities2_model = LineClassifier.from_arrays(arrays, "entities2", LABELS)
        self.entities3_model = BoostedTrees.from_arrays(arrays, "entities3", LABELS)
        self.links_model = LineClassifier.from_arrays(arrays, "links", ("no", "link"))
        self.row_threshold = float(config.get("row_threshold", 0.5))
        self.column_threshold = float(config.get("column_threshold", 0.5))
        self.link_threshold = float(config.get("link_threshold", 0.5))

    def analyse(self, words: Sequence[Word], width: float, height: float,
                entities: Sequence[Sequence[int]] | None = None) -> FormResult:  # fmt: skip
        """Entities and links of one page's words (``entities``: word groups given, only labelled and linked)."""
        words = [w for w in words if w.text.strip()]
        if not words:
            return FormResult([], [], [])
        nb = neighbours_of(words)
        probs = self.word_probabilities(words, width, height, nb)
        if entities is None:
            groups = self.group_words(words, width, height, nb, probs)
        else:
            groups = [tuple(g) for g in entities if g]
        found = [Entity(tuple(g)) for g in groups]
        for e, p in zip(found, self.entity_probabilities(found, words, width, height, probs), strict=True):
            e.probs = p
            e.label = int(np.argmax(p))
        links = decode_links(found, words, width, height, self.links_model, self.link_threshold)
        return FormResult(words, found, links)

    def group_words(self, words: Sequence[Word], width: float, height: float, nb: Neighbours,
                    probs: np.ndarray) -> list[tuple[int, ...]]:  # fmt: skip
        """Words → entities in two steps: side-by-side words join into row segments (the edge trees), then
        segments one above the other join into entities (the segment trees)."""
        join = self.edges_model.probabilities(pair_features(words, nb, probs))[:, 1]
        segments = row_segments(words, nb.edges, join, self.row_threshold)
        keys, features = segment_pairs(words, width, height, nb, segments, join, probs)
        merge = self.segments_model.probabilities(features)[:, 1] >= self.column_threshold
        joined = union_groups(len(segments), [k for k, m in zip(keys, merge, strict=True) if m])
        return _in_page_order([[i for s in g for i in segments[s]] for g in joined], words)

    def entity_probabilities(self, entities: Sequence[Entity], words: Sequence[Word], width: float, height: float,
                             word_probs: np.ndarray) -> np.ndarray:  # fmt: skip
        """Each entity's label probabilities: two linear passes over its words and neighbours, then the trees."""
        if not entities:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        features = entity_features(entities, words, width, height, word_probs)
        nbrs = entity_neighbours(entities, words)
        first = self.entities_model.probabilities(features)
        second = self.entities2_model.probabilities(entity_stack(features, first, nbrs))
        return self.entities3_model.probabilities(entity_tree_features(features, second, nbrs))

    def word_probabilities(self, words: Sequence[Word], width: float, height: float, nb: Neighbours) -> np.ndarray:
        """Each word's label probabilities: the first pass, then the second over it and its neighbours'."""
        features = word_features(words, width, height, nb)
        first = self.words_model.probabilities(features)
        return self.words2_model.probabilities(stacked_features(features, first, nb))

    def extract(self, document: Document) -> Extraction:
        page = next((p for p in document.pages if p.words), None)
        if page is None:
            return Extraction(self.task, {}, metadata={"model": self.name, "entities": [], "links": []})
        result = self.analyse(list(page.words), page.width, page.height)
        fields: dict[str, Field] = {}
        for pair in result.pairs():
            q, a = result.entities[pair["question"]], result.entities[pair["answer"]]
            name, k = pair["key"], 2
            while name in fields:
                name, k = f"{pair['key']} ({k})", k + 1
            conf = pair["confidence"] * float(np.mean([result.words[i].confidence for i in a.words]))
            fields[name] = Field(name, pair["value"], pair["value"], conf,
                                 tuple(result.words[i].box for i in a.words), page.index)  # fmt: skip
            del q
        metadata = {
            "model": self.name,
            "entities": result.entity_dicts(),
            "links": [[i, j] for i, j, _ in result.links],
            "pairs": result.pairs(),
        }
        return Extraction(self.task, fields, metadata=metadata)


def decode_links(entities: Sequence[Entity], words: Sequence[Word], width: float, height: float,
                 model: LineClassifier, threshold: float) -> list[tuple[int, int, float]]:  # fmt: skip
    """Greedy: each answer takes its most probable question when above ``threshold``."""
    pairs = link_candidates(entities)
    if not pairs:
        return []
    p = model.probabilities(link_features(entities, words, width, height, pairs))[:, 1]
    best: dict[int, tuple[int, float]] = {}
    for (i, j), v in zip(pairs, p, strict=True):
        if v >= threshold and (j not in best or v > best[j][1]):
            best[j] = (i, float(v))
    return sorted((i, j, v) for j, (i, v) in best.items())
