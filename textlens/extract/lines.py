"""Lines of a page as a learned model sees them: rows in reading order, features, and a small softmax classifier.

The classifier is multinomial logistic regression written in numpy (no torch, no scikit-learn): its parameters
are a weight matrix and a bias saved as ``.npz`` (loaded with ``allow_pickle=False``: nothing loaded runs code)
beside a ``config.json`` that names the classes and the features.
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
