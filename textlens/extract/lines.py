"""Lines of a page as a learned model sees them: rows in reading order, features, and a small softmax classifier.

The classifier is multinomial logistic regression written in numpy (no torch, no scikit-learn): its parameters
are a weight matrix and a bias saved as ``.npz`` (loaded with ``allow_pickle=False``: nothing loaded runs code)
beside a ``config.json`` that names the classes and the features. ``BoostedTrees`` (gradient-boosted oblivious
trees, also numpy and plain arrays) serves where dense features interact beyond what a linear model sees.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Line, Page, vertical_overlap
from textlens.errors import MissingWeights

HASH_BUCKETS = 512
COMPANY_WORDS = (
    "SDN", "BHD", "BHD.", "S/B", "ENTERPRISE", "TRADING", "RESTAURANT", "RESTORAN", "STORE", "STORES", "MART",
    "SHOP", "CAFE", "BAKERY", "PLT", "LTD", "CO.", "COMPANY", "HARDWARE", "MARKET", "SUPERMARKET", "CORPORATION",
    "INDUSTRIES", "BERHAD", "STATIONERY", "FOOD", "KEDAI", "GIFT", "PHARMACY", "HOLDINGS", "INC", "LLC", "GMBH",
)  # fmt: skip
ADDRESS_WORDS = (
    "JALAN", "JLN", "JLN.", "TAMAN", "TMN", "NO", "NO.", "LOT", "BLOK", "BLOCK", "LORONG", "KAWASAN", "SELANGOR",
    "JOHOR", "KUALA", "LUMPUR", "BAHRU", "PERSIARAN", "JAYA", "BATU", "PETALING", "SHAH", "ALAM", "KLANG",
    "DARUL", "EHSAN", "BANDAR", "SEKSYEN", "SECTION", "ROAD", "STREET", "AVENUE", "FLOOR", "LEVEL", "SUITE",
    "UNIT", "PUCHONG", "CHERAS", "KAJANG", "PAHANG", "PERAK", "PENANG", "MELAKA", "NEGERI", "SEMBILAN",
)  # fmt: skip
OTHER_WORDS = (
    "TEL", "TEL:", "FAX", "GST", "REG", "INVOICE", "RECEIPT", "DATE", "CASHIER", "TOTAL", "TAX", "EMAIL",
    "WWW", "HTTP", "ID", "NO:", "QTY", "PRICE", "AMOUNT", "THANK", "TIME", "BILL", "TABLE", "CASH", "PHONE",
)  # fmt: skip
_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")
DENSE = 26  # features of a line itself (see line_features)
NEIGHBOUR = 8  # features taken from each neighbouring row


def rows_of(page: Page) -> list[list[Line]]:
    """The page's lines grouped into rows (side-by-side lines overlapping vertically by half), top to bottom, each
    row left to right."""
    lines = sorted((ln for ln in page.lines if ln.words), key=lambda ln: (ln.box[1] + ln.box[3]) / 2)  # type: ignore[index]
    rows: list[list[Line]] = []
    for line in lines:
        for row in reversed(rows[-3:]):
            if any(vertical_overlap(line.box, other.box) >= 0.5 for other in row):  # type: ignore[arg-type]
                row.append(line)
                break
        else:
            rows.append([line])
    return [sorted(row, key=lambda ln: ln.box[0]) for row in rows]  # type: ignore[index]


def ordered_lines(page: Page) -> list[Line]:
    """Lines in row order (top to bottom, left to right within a row)."""
    return [ln for row in rows_of(page) for ln in row]


def _words(text: str) -> list[str]:
    return text.upper().split()


def _has(words: list[str], vocabulary: Sequence[str]) -> float:
    return 1.0 if any(w.strip(",.:;()") in vocabulary or w in vocabulary for w in words) else 0.0


def _own(line: Line, page: Page, index: int, total: int, median_h: float) -> list[float]:
    x0, y0, x1, y1 = line.box  # type: ignore[misc]
    text = line.text
    words = _words(text)
    n = max(len(text), 1)
    digits = sum(c.isdigit() for c in text) / n
    letters = sum(c.isalpha() for c in text) / n
    upper = sum(c.isupper() for c in text) / max(sum(c.isalpha() for c in text), 1)
    punct = sum(not c.isalnum() and not c.isspace() for c in text) / n
    h = (y1 - y0) / max(median_h, 1.0)
    W, H = max(page.width, 1), max(page.height, 1)
    return [
        (y0 + y1) / 2 / H,
        min(index, 30) / 30,
        index / max(total, 1),
        1.0 if index == 0 else 0.0,
        min(h, 3.0),
        (x0 + x1) / 2 / W,
        (x1 - x0) / W,
        min(len(text), 60) / 60,
        digits,
        letters,
        upper,
        punct,
        text.count(",") / 3,
        1.0 if text.rstrip().endswith(",") else 0.0,
        float(line.confidence),
        _has(words, COMPANY_WORDS),
        _has(words, ADDRESS_WORDS),
        _has(words, OTHER_WORDS),
        1.0 if _POSTCODE.search(text) else 0.0,
        1.0 if re.search(r"\d", text) else 0.0,
        1.0 if re.search(r"\d+\.\d{2}\b", text) else 0.0,
        1.0 if re.search(r"\(.*\)", text) else 0.0,
        1.0 if re.search(r"\d{5,}-?[A-Z]\b|\(\d+", text) else 0.0,  # a company registration number
        1.0 if re.search(r"[a-z]", text) else 0.0,
        1.0 if len(words) == 1 else 0.0,
        1.0,
    ]


def _hashed(text: str) -> np.ndarray:
    out = np.zeros(HASH_BUCKETS, dtype=np.float32)
    for word in _words(text):
        token = re.sub(r"\d", "0", word.strip(",.:;()"))
        if token:
            out[zlib.crc32(token.encode("utf-8")) % HASH_BUCKETS] = 1.0
    return out


def page_features(page: Page, lines: Sequence[Line]) -> np.ndarray:
    """One feature row per line (in the order given): the line's own features, those of the rows before and
    after it, and hashed words. Shape ``(len(lines), feature_count())``."""
    if not lines:
        return np.zeros((0, feature_count()), dtype=np.float32)
    heights = sorted(ln.box[3] - ln.box[1] for ln in lines)  # type: ignore[index]
    median_h = heights[len(heights) // 2]
    own = np.array([_own(ln, page, i, len(lines), median_h) for i, ln in enumerate(lines)], dtype=np.float32)
    pick = [0, 4, 8, 15, 16, 17, 18, 22]  # y, height, digits, company / address / other words, postcode, reg no
    assert len(pick) == NEIGHBOUR
    blank = np.zeros((1, NEIGHBOUR), dtype=np.float32)
    neighbours = own[:, pick]
    before = np.concatenate([blank, neighbours[:-1]])
    before2 = np.concatenate([blank, blank, neighbours[:-2]])[: len(lines)]
    after = np.concatenate([neighbours[1:], blank])
    after2 = np.concatenate([neighbours[2:], blank, blank])[: len(lines)]
    hashed = np.stack([_hashed(ln.text) for ln in lines])
    return np.concatenate([own, before, before2, after, after2, hashed], axis=1)


def feature_count() -> int:
    return DENSE + 4 * NEIGHBOUR + HASH_BUCKETS


@dataclass
class LineClassifier:
    """Multinomial logistic regression over line features: ``probabilities(X)`` → (n, classes)."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    mean: np.ndarray  # feature standardisation
    scale: np.ndarray
    config: dict[str, Any]

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        l2: float = 1e-3,
        steps: int = 400,
        lr: float = 0.5,
        class_weights: Sequence[float] | None = None,
        config: dict[str, Any] | None = None,
    ) -> LineClassifier:
        """Full-batch gradient descent with momentum on the weighted cross-entropy plus an L2 penalty."""
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale < 1e-6] = 1.0
        x = ((features - mean) / scale).astype(np.float64)
        k = len(classes)
        y = np.eye(k)[labels]
        sample_w = np.ones(len(labels)) if class_weights is None else np.asarray(class_weights)[labels]
        sample_w = sample_w / sample_w.sum()
        w = np.zeros((x.shape[1], k))
        b = np.zeros(k)
        vw, vb = np.zeros_like(w), np.zeros_like(b)
        for _ in range(steps):
            z = x @ w + b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            g = (p - y) * sample_w[:, None]
            gw = x.T @ g + l2 * w
            gb = g.sum(axis=0)
            vw = 0.9 * vw - lr * gw
            vb = 0.9 * vb - lr * gb
            w += vw
            b += vb
        return cls(tuple(classes), w.astype(np.float32), b.astype(np.float32), mean.astype(np.float32),
                   scale.astype(np.float32), dict(config or {}))  # fmt: skip

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The parameters as named arrays (for one ``.npz`` holding several classifiers)."""
        names = ("weights", "bias", "mean", "scale")
        return {f"{prefix}_{n}": np.asarray(getattr(self, n), dtype=np.float32) for n in names}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, classes: Sequence[str]) -> LineClassifier:
        try:
            parts = [np.asarray(arrays[f"{prefix}_{n}"]) for n in ("weights", "bias", "mean", "scale")]
        except KeyError as exc:
            raise MissingWeights(f"the weights lack the {prefix!r} classifier ({exc})") from exc
        if parts[0].shape != (parts[2].shape[0], len(classes)):
            raise MissingWeights(f"the {prefix!r} weights have shape {parts[0].shape}, not (features, {len(classes)})")
        return cls(tuple(classes), parts[0], parts[1], parts[2], parts[3], {})


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to ``path`` atomically (plain arrays: loading them runs no code)."""
    from textlens.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: np.asarray(data[k]) for k in data.files}


@dataclass
class BoostedTrees:
    """Gradient-boosted oblivious decision trees (one split per level, as CatBoost grows them) for dense,
    heterogeneous features where a linear model falls short: ``probabilities(X)`` → (n, classes).

    Each tree level tests one feature against one threshold, so a tree of depth D is D (feature, threshold)
    pairs and 2**D leaf values: plain arrays, evaluated for all rows at once. Two classes use one logit per tree;
    more use one tree per class and a softmax."""

    classes: tuple[str, ...]
    features: np.ndarray  # (trees, outputs, depth) int32: the feature each level tests
    thresholds: np.ndarray  # (trees, outputs, depth) float32: a row goes right when feature > threshold
    leaves: np.ndarray  # (trees, outputs, 2**depth) float32: the learning rate already applied
    base: np.ndarray  # (outputs,) the starting logits

    def logits(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        n = x.shape[0]
        trees, outputs, depth = self.features.shape
        out = np.tile(self.base.astype(np.float64), (n, 1))
        if n == 0 or trees == 0:
            return out
        weights = (1 << np.arange(depth)).astype(np.int64)
        for t in range(trees):
            bits = x[:, self.features[t]] > self.thresholds[t][None]  # (n, outputs, depth)
            leaf = (bits * weights).sum(axis=2)  # (n, outputs)
            out += np.take_along_axis(self.leaves[t].T, leaf, axis=0) if outputs > 1 else self.leaves[t, 0][leaf]
        return out

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = self.logits(features)
        if z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        trees: int = 200,
        depth: int = 5,
        rate: float = 0.1,
        l2: float = 1.0,
        bins: int = 32,
    ) -> BoostedTrees:
        """Newton boosting of the (binary or softmax) cross-entropy over features cut into quantile bins."""
        x = np.asarray(features, dtype=np.float32)
        n, f = x.shape
        k = len(classes)
        outputs = 1 if k == 2 else k
        edges = [np.unique(np.quantile(x[:, j], np.linspace(0, 1, bins + 1)[1:-1])) for j in range(f)]
        binned = np.stack([np.searchsorted(edges[j], x[:, j], side="left") for j in range(f)], axis=1)
        # searchsorted 'left': bin b holds x ≤ edges[b]; a split after bin b sends x > edges[b] right
        flat = binned + np.arange(f)[None, :] * bins  # (n, f) into a (f * bins) histogram
        # no split after a feature's last edge (nothing lies beyond it)
        empty = np.arange(bins)[None, :] >= np.array([len(e) for e in edges])[:, None]
        y = np.eye(k)[labels] if outputs > 1 else labels.astype(np.float64)[:, None]
        prior = y.mean(axis=0).clip(1e-4, 1 - 1e-4)
        base = np.log(prior / (1 - prior)) if outputs == 1 else np.log(prior)
        z = np.tile(base, (n, 1))
        feat = np.zeros((trees, outputs, depth), dtype=np.int32)
        thr = np.zeros((trees, outputs, depth), dtype=np.float32)
        leaves = np.zeros((trees, outputs, 1 << depth), dtype=np.float32)
        for t in range(trees):
            if outputs == 1:
                p = 1.0 / (1.0 + np.exp(-z))
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                p = e / e.sum(axis=1, keepdims=True)
            grad, hess = p - y, np.maximum(p * (1 - p), 1e-6)
            for o in range(outputs):
                g, h = grad[:, o], hess[:, o]
                node = np.zeros(n, dtype=np.int64)
                for d in range(depth):
                    leaves_now = 1 << d
                    index = (node[:, None] * (f * bins) + flat).ravel()
                    size = leaves_now * f * bins
                    hg = np.bincount(index, np.repeat(g, f), minlength=size).reshape(leaves_now, f, bins)
                    hh = np.bincount(index, np.repeat(h, f), minlength=size).reshape(leaves_now, f, bins)
                    gl, hl = hg.cumsum(axis=2), hh.cumsum(axis=2)
                    gt, ht = gl[:, :, -1:], hl[:, :, -1:]
                    gr, hr = gt - gl, ht - hl
                    gain = (gl**2 / (hl + l2) + gr**2 / (hr + l2)).sum(axis=0)  # over all the level's leaves
                    gain[empty] = -1.0
                    j, b = np.unravel_index(int(np.argmax(gain)), gain.shape)
                    feat[t, o, d] = j
                    thr[t, o, d] = edges[j][b] if b < len(edges[j]) else np.inf
                    node |= (binned[:, j] > b).astype(np.int64) << d
                gs = np.bincount(node, g, minlength=1 << depth)
                hs = np.bincount(node, h, minlength=1 << depth)
                values = -rate * gs / (hs + l2)
                leaves[t, o] = values
                z[:, o] += values[node]
        return cls(tuple(classes), feat, thr, leaves, base.astype(np.float32))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The parameters as named arrays (for one ``.npz`` holding several models)."""
        return {f"{prefix}_tree_features": self.features.astype(np.int32),
                f"{prefix}_tree_thresholds": self.thresholds.astype(np.float32),
                f"{prefix}_tree_leaves": self.leaves.astype(np.float32),
                f"{prefix}_tree_base": self.base.astype(np.float32)}  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, classes: Sequence[str]) -> BoostedTrees:
        try:
            parts = [np.asarray(arrays[f"{prefix}_tree_{n}"]) for n in ("features", "thresholds", "leaves", "base")]
        except KeyError as exc:
            raise MissingWeights(f"the weights lack the {prefix!r} trees ({exc})") from exc
        feat, thr, leaves, base = parts
        outputs = 1 if len(classes) == 2 else len(classes)
        if feat.ndim != 3 or thr.shape != feat.shape or feat.shape[1] != outputs or base.shape != (outputs,) or \
                leaves.shape != (*feat.shape[:2], 1 << feat.shape[2]):  # fmt: skip
            raise MissingWeights(f"the {prefix!r} trees have inconsistent shapes {[p.shape for p in parts]}")
        return cls(tuple(classes), feat.astype(np.int32), thr.astype(np.float32), leaves.astype(np.float32),
                   base.astype(np.float32))  # fmt: skip
