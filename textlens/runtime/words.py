"""From a region's reading to page words: word boxes from the CTC positions, boxes fitted to the ink, and
lone letters cased by their size.

The pipeline (``textlens.pipeline.OCR``) reads each detected region as one crop (``crops.crop_quad``); these
functions turn that reading into :class:`~textlens.document.Word` objects on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from textlens.document import Word, polygon_box
from textlens.runtime.base import Recognition
from textlens.runtime.crops import ink_mask
from textlens.runtime.ctc import CASE_BY_SIZE
from textlens.runtime.curved import band_span

MIN_WORD_ASPECT = 0.8  # narrowest fitted box, × its height (a lone "1" is boxed like a character cell)
INK_MIN_CONTRAST = 12.0  # grey-level standard deviation below which a patch has no clear ink


def _point_on_quad(quad: np.ndarray, fx: float, top: bool) -> tuple[float, float]:
    a, b = (quad[0], quad[1]) if top else (quad[3], quad[2])
    p = a + (b - a) * fx
    return (float(p[0]), float(p[1]))


def split_into_words(result: Recognition, quad: np.ndarray, band: np.ndarray | None = None) -> list[Word]:
    """Split a recognised line at spaces into words with boxes, using the CTC character positions.

    Without character positions, each character is given an equal share of the line's width. With ``band`` (a
    curved region read rectified along it, ``textlens.runtime.curved``), each word's polygon is the part of the
    band its characters span (8 points), not a quad.
    """
    text = result.text
    n = len(text)
    if n == 0:
        return []
    xs = list(result.char_x) if len(result.char_x) == n else [(i + 0.5) / n for i in range(n)]
    confs = list(result.char_confidences) if len(result.char_confidences) == n else [result.confidence] * n
    words: list[Word] = []
    i = 0
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        j = i
        while j < n and text[j] != " ":
            j += 1
        # A word spans from halfway to the previous character to halfway to the next one.
        start = 0.0 if i == 0 else (xs[i - 1] + xs[i]) / 2
        end = 1.0 if j == n else (xs[j - 1] + xs[j]) / 2
        if i > 0 and text[i - 1] == " ":
            start = max(start, xs[i] - (xs[i] - xs[i - 1]) / 2)
        poly = (
            (
                _point_on_quad(quad, start, True),
                _point_on_quad(quad, end, True),
                _point_on_quad(quad, end, False),
                _point_on_quad(quad, start, False),
            )
            if band is None
            else band_span(band, start, end)
        )
        conf = float(np.mean(confs[i:j]))
        words.append(Word(text=text[i:j], box=polygon_box(poly), confidence=conf, polygon=poly))
        i = j
    return words


def _pixel_box(gray: np.ndarray, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """``box`` widened to whole pixels and clipped to the image."""
    height, width = gray.shape[:2]
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    return x0, y0, min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)


def _has_ink(patch: np.ndarray) -> bool:
    return patch.size >= 16 and float(patch.std()) >= INK_MIN_CONTRAST


def fit_to_ink(gray: np.ndarray, word: Word, margin_fraction: float = 0.1) -> Word:
    """``word`` with its box shrunk to the ink inside it plus a margin of ``margin_fraction`` × its height.

    Detection regions carry margins for the recogniser and CTC word cuts fall mid-gap, so word boxes are
    loose; a word's own ink gives the tight box people (and IoU-scored benchmarks) expect. Only axis-aligned
    words are fitted; a box without clear ink (low contrast, or ink everywhere) is kept as it is. A word
    whose polygon starts at another corner of its box (text read turned) keeps that start, and vertical
    text is fitted along its own direction. A word of a curved region (a polygon of more than four points)
    keeps its polygon.
    """
    if word.polygon is None:
        corner = 0
    elif len(word.polygon) > 4:
        return word
    else:
        corner = _box_corner(word.polygon)
        if corner is None:
            return word
    vertical = corner % 2 == 1  # starts at the bottom-left (text runs up) or top-right (runs down)
    page = gray.T if vertical else gray
    box = _transposed(word.box) if vertical else word.box
    fitted = _fit_box(page, box, margin_fraction)
    if fitted is None:
        return word
    x0, y0, x1, y1 = _transposed(fitted) if vertical else fitted
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    poly = tuple(corners[corner:] + corners[:corner])
    return Word(text=word.text, box=(x0, y0, x1, y1), confidence=word.confidence, polygon=poly)


def _transposed(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (box[1], box[0], box[3], box[2])


def _fit_box(
    gray: np.ndarray, box: tuple[float, float, float, float], margin_fraction: float
) -> tuple[float, float, float, float] | None:
    """The part of ``box`` (horizontal text) around its ink, with margins; None without clear ink."""
    x0, y0, x1, y1 = _pixel_box(gray, box)
    patch = gray[y0:y1, x0:x1]
    if not _has_ink(patch):
        return None
    points = cv2.findNonZero(ink_mask(np.ascontiguousarray(patch)))
    if points is None:
        return None
    bx, by, bw, bh = cv2.boundingRect(points)
    margin = margin_fraction * (y1 - y0)
    # A narrow glyph ("1", "I") keeps a box at least MIN_WORD_ASPECT × its height wide, as annotators draw it.
    side = max(margin, (MIN_WORD_ASPECT * (bh + 2 * margin) - bw) / 2)
    return (
        max(x0 + bx - side, box[0]),
        max(y0 + by - margin, box[1]),
        min(x0 + bx + bw + side, box[2]),
        min(y0 + by + bh + margin, box[3]),
    )


_DESCENDING = frozenset("gjpqyQ(){}[]|/@$,;_")
# Ink height, × the line's cap height, below which a lone letter is small: x-heights are 0.66-0.76 of the
# cap height in common fonts; receipt fonts print a capital "X" a little under their digits' height, so
# digits do not set the reference (held-out SROIE "1 X 7.00" read "x" with digits counted, at 0.85).
LOWER_CASE_HEIGHT = 0.8


def ink_height(gray: np.ndarray, box: tuple[float, float, float, float]) -> float | None:
    """Height of the tallest unbroken band of ink rows inside ``box`` of the grey page (None without clear
    ink): ink of the lines above and below that a loose box takes in is apart from the word's own band."""
    x0, y0, x1, y1 = _pixel_box(gray, box)
    patch = gray[y0:y1, x0:x1]
    if not _has_ink(patch):
        return None
    counts = ink_mask(patch).sum(axis=1)
    inked = np.concatenate([[0], (counts >= max(0.1 * counts.max(), 1)).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(inked))  # band starts and ends, alternating
    return float(np.max(edges[1::2] - edges[::2])) if edges.size else None


def _cap_height_word(text: str) -> bool:
    """Whether a word's ink spans exactly the cap height: a capital or ascender letter, no descender."""
    return (
        len(text) >= 2 and any(c.isupper() or c in "bdfhklt" for c in text) and not any(c in _DESCENDING for c in text)
    )


def settle_lone_letter_case(gray: np.ndarray, regions: list[list[Word]]) -> list[list[Word]]:
    """Lone letters of CASE_BY_SIZE ("2 x Notebook") cased by their ink height against the cap height of
    the words beside them on their line, as a reader does; without such words, or in a line written in
    capitals, the reading stays."""
    words = [w for region in regions for w in region]
    out = []
    for region in regions:
        settled = []
        for word in region:
            if word.text in CASE_BY_SIZE and (height := ink_height(gray, word.box)):
                middle = (word.box[1] + word.box[3]) / 2
                line = [other for other in words if other is not word and other.box[1] <= middle <= other.box[3]]
                letters = [c for other in line for c in other.text if c.isalpha()]
                caps = [h for other in line if _cap_height_word(other.text) if (h := ink_height(gray, other.box))]
                # In a line of capitals a lone letter is a capital too, however small the font draws it
                # (receipts print "1 X 7.00 SR" with a low "X"; SROIE transcribes it "X").
                if caps and not all(c.isupper() for c in letters):
                    small = height < LOWER_CASE_HEIGHT * float(np.median(caps))
                    text = word.text.lower() if small else word.text.upper()
                    word = Word(text=text, box=word.box, confidence=word.confidence, polygon=word.polygon)
            settled.append(word)
        out.append(settled)
    return out


def _box_corner(polygon: Sequence[tuple[float, float]], tolerance: float = 0.02) -> int | None:
    """Which corner of its bounding box an axis-aligned quad starts at (0 top-left, 1 top-right, 2 bottom-right,
    3 bottom-left: the text's top-left after a turn of 0, 270, 180 or 90° clockwise); None when it is tilted
    (its first edge rises or runs by more than ``tolerance`` of its length)."""
    points = np.asarray(polygon, dtype=np.float64)
    (ax, ay), (bx, by) = points[0], points[1]
    if abs(by - ay) > tolerance * max(abs(bx - ax), 1.0) and abs(bx - ax) > tolerance * max(abs(by - ay), 1.0):
        return None
    x_mid, y_mid = points[:, 0].mean(), points[:, 1].mean()
    right, below = ax > x_mid, ay > y_mid
    return {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 3}[(bool(right), bool(below))]
