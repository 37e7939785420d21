"""Licence plates in photos: find them, read them, and keep the reading a plate format accepts.

1. Candidates: the bundled detector's text regions (scene domain), joined along rows the way a plate's groups of
   characters sit side by side ("AB12" "CDE"), and every run of neighbours in a row (a plate's EU band letter or
   a US state banner is a neighbour too, and must be left out); then a few plate-shaped regions of dense
   vertical edges where the detector found nothing (``edge_candidates``).
2. Extent: the plate's face around the characters (the connected region of the face's colour, the light side
   of the text box's Otsu split, closed over the characters) says how far the line of characters runs when the
   detector cut it short; the line is read as the face's width, the region widened, and the region itself, and
   the confident reading of the most characters is kept.
3. Reading: the line is cut out upright, in grey, both ways up in polarity, its rim and EU band painted over in
   the face's grey (``framed_crops``). The plate recogniser (``PLATE_PACK``: crnn_fast fine-tuned on synthetic
   plate crops, recipes/extract_plate.sh) gives per-step class probabilities, folded to 36 classes (A–Z in
   either case, 0–9) plus a gap (the CTC blank, spaces, hyphens and other marks); the polarity read more surely
   is decoded under each format's layouts: the best CTC path whose characters follow the layout (a letter, a
   digit, one of the format's letters at each position). This is where OCR confusions are settled: an "O" where
   the format needs a digit is read as the likeliest digit at those steps, not as a fixed swap. The format whose
   best path loses the least against the free best path wins (``penalty``, nats); ties keep the table's order.
4. Box: the read line grown by ``BOX_MARGIN`` (on the synthetic development scenes it overlapped the labelled
   plate at IoU ≥ 0.5 more often than the face region did: a face's colour leaks into bodywork of that colour).

``confidence`` is the mean, over the plate's characters, of the highest probability of the chosen character over
its steps, times ``exp(-penalty / characters)``. Imports no torch (the reader runs on ``textlens.runtime``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.extract.plate_formats import DIGITS, FORMATS, UPPER, PlateFormat

ALNUM = UPPER + DIGITS
# The plate recogniser (recipes/extract_plate.sh: crnn_fast fine-tuned on synthetic plate crops); read by
# OnnxRecognizer from its folder, not listed among the general recognisers.
PLATE_PACK = Path(__file__).resolve().parents[1] / "models" / "weights" / "_extract" / "plate_rec"
GAP = 0  # the folded class of the CTC blank and every mark that is not a letter or digit
MIN_CONFIDENCE = 0.5  # a plate reading below this is not reported
BOX_MARGIN = (0.05, 0.1)  # text heights around the read line, across and along, for the plate's box
EDGE_CANDIDATES = 3  # plate-shaped edge regions read per image beyond the detector's
WIDEN = 0.6  # text heights added at either end of a detector region, for the characters it cut off
LONGER_BONUS = 0.1  # confidence a reading gains per character when overlapping readings compete
BAND_REACH = 0.6  # text heights from a crop's side within which a solid run of columns is a band or rim
MAX_GROUP = 4  # detector regions joined into one candidate at most
LENGTH_SLACK = 2  # plate lengths decoded beyond the free reading's number of characters
_FLOOR = 1e-9


@dataclass(frozen=True)
class PlateReading:
    """A plate found in an image: ``plate`` as printed (the format's separators), ``compact`` (letters and digits),
    the format's region and key, the plate's box (x0, y0, x1, y1, image pixels), confidence in [0, 1]."""

    plate: str
    compact: str
    region: str
    format: str
    box: tuple[float, float, float, float]
    confidence: float
    penalty: float = 0.0
    text_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plate": self.plate,
            "compact": self.compact,
            "region": self.region,
            "format": self.format,
            "box": [round(float(v), 1) for v in self.box],
            "confidence": round(float(self.confidence), 4),
        }


# --- decoding -------------------------------------------------------------------------------------------------
def fold_probabilities(probs: np.ndarray, charset: Sequence[str]) -> np.ndarray:
    """A recogniser's T×K CTC probabilities (class 0 the blank, class i+1 ``charset[i]``) → T×37 log-probabilities:
    the gap (blank and every other mark), then A–Z (either case), then 0–9."""
    folded = np.zeros((probs.shape[0], 1 + len(ALNUM)), np.float64)
    index = np.zeros(probs.shape[1], np.int64)  # class → folded column (the gap unless a letter or digit)
    for i, ch in enumerate(charset, start=1):
        up = ch.upper()
        if len(up) == 1 and up in ALNUM:
            index[i] = 1 + ALNUM.index(up)
    np.add.at(folded.T, index, probs.T.astype(np.float64))
    return np.log(np.maximum(folded, _FLOOR))


@dataclass(frozen=True)
class Path_:
    """A constrained CTC path: its compact text, log-probability, and per character its steps (first, last)."""

    text: str
    score: float
    spans: tuple[tuple[int, int], ...]


def _layout_masks(layouts: Sequence[tuple[str, ...]]) -> np.ndarray:
    """L×n×36 log-masks (0 allowed, -inf not) of layouts of one length n."""
    n = len(layouts[0])
    masks = np.full((len(layouts), n, len(ALNUM)), -np.inf)
    for li, layout in enumerate(layouts):
        for pos, allowed in enumerate(layout):
            masks[li, pos, [ALNUM.index(c) for c in allowed]] = 0.0
    return masks


def constrained_paths(logp: np.ndarray, layouts: Sequence[tuple[str, ...]]) -> list[Path_]:
    """The best CTC path through ``logp`` (T×37, ``fold_probabilities``) for each layout of one length: Viterbi
    over the states gap-before-position-i and (position i, character c), a character repeated at the next position
    only across a gap (the CTC rule)."""
    steps, n = logp.shape[0], len(layouts[0])
    if steps < n:
        return [Path_("", -np.inf, ()) for _ in layouts]
    masks = _layout_masks(layouts)  # L×n×C
    gap_lp, char_lp = logp[:, GAP], logp[:, 1:]
    L, C = masks.shape[0], masks.shape[2]
    chars = np.full((L, n, C), -np.inf)
    gaps = np.full((L, n + 1), -np.inf)
    gaps[:, 0] = gap_lp[0]
    chars[:, 0] = char_lp[0] + masks[:, 0]
    # back-pointers: for chars, -1 stay, -2 from the gap before, else the previous position's character;
    # for gaps, -1 stay, else the previous position's character
    char_from = np.zeros((steps, L, n, C), np.int16)
    gap_from = np.zeros((steps, L, n + 1), np.int16)
    positions, columns = np.indices((L, n - 1))
    for t in range(1, steps):
        prev_chars, prev_gaps = chars, gaps
        # the best and second-best character at each position (to move on to a different character)
        top1 = prev_chars.argmax(axis=2)
        best1 = np.take_along_axis(prev_chars, top1[..., None], 2)[..., 0]
        masked = prev_chars.copy()
        np.put_along_axis(masked, top1[..., None], -np.inf, 2)
        top2 = masked.argmax(axis=2)
        best2 = np.take_along_axis(masked, top2[..., None], 2)[..., 0]
        # into position i from position i-1's best character, or its second best where they are the same
        move = np.full((L, n, C), -np.inf)
        move_from = np.full((L, n, C), -1, np.int64)
        if n > 1:
            move[:, 1:] = best1[:, :-1, None]
            move_from[:, 1:] = top1[:, :-1, None]
            move[positions, columns + 1, top1[:, :-1]] = best2[:, :-1]
            move_from[positions, columns + 1, top1[:, :-1]] = top2[:, :-1]
        from_gap = prev_gaps[:, :n, None]
        best = np.maximum(prev_chars, from_gap)
        code = np.where(prev_chars >= from_gap, -1, -2)
        better = move > best
        best = np.where(better, move, best)
        char_from[t] = np.where(better, move_from, code)
        chars = best + char_lp[t][None, None, :] + masks
        # gaps: stay, or close position i-1 (its best character)
        leave = np.concatenate([np.full((L, 1), -np.inf), best1], 1)
        leave_from = np.concatenate([np.zeros((L, 1), np.int64), top1], 1)
        gap_from[t] = np.where(leave > prev_gaps, leave_from, -1)
        gaps = np.maximum(prev_gaps, leave) + gap_lp[t]
    paths = []
    for li in range(L):
        end_char = int(np.argmax(chars[li, n - 1]))
        end_scores = (gaps[li, n], chars[li, n - 1, end_char])
        if not np.isfinite(max(end_scores)):
            paths.append(Path_("", -np.inf, ()))
            continue
        state: tuple[str, int, int] = ("gap", n, 0) if end_scores[0] >= end_scores[1] else ("char", n - 1, end_char)
        text = [""] * n
        last = [-1] * n
        first = [-1] * n
        for t in range(steps - 1, -1, -1):
            kind, pos, c = state
            if kind == "char":
                text[pos] = ALNUM[c]
                first[pos] = t
                if last[pos] < 0:
                    last[pos] = t
                if t == 0:
                    break
                back = int(char_from[t, li, pos, c])
                state = ("char", pos, c) if back == -1 else ("gap", pos, 0) if back == -2 else ("char", pos - 1, back)
            else:
                if t == 0:
                    break
                back = int(gap_from[t, li, pos])
                state = ("gap", pos, 0) if back == -1 else ("char", pos - 1, back)
        score = float(max(end_scores))
        paths.append(Path_("".join(text), score, tuple(zip(first, last, strict=True))))
    return paths


@dataclass(frozen=True)
class Decoded:
    """The best reading of one crop under one format."""

    compact: str
    format: PlateFormat
    penalty: float
    confidence: float


def free_score(logp: np.ndarray) -> float:
    """The best path's log-probability with no constraint."""
    return float(logp.max(axis=1).sum())


def decode_plate(logp: np.ndarray, formats: Sequence[PlateFormat] = FORMATS) -> list[Decoded]:
    """Per format, its best reading of the crop (``constrained_paths`` over all its layouts), best first."""
    free = free_score(logp)
    best_path = logp.argmax(axis=1)
    runs = best_path[np.r_[True, best_path[1:] != best_path[:-1]]]
    read = int((runs != GAP).sum())  # characters of the free best path
    by_length: dict[int, list[tuple[PlateFormat, tuple[str, ...]]]] = {}
    for fmt in formats:
        for layout in fmt.layouts():
            if abs(len(layout) - read) <= LENGTH_SLACK:  # far longer or shorter readings cost too much anyway
                by_length.setdefault(len(layout), []).append((fmt, layout))
    best: dict[str, tuple[Path_, PlateFormat]] = {}
    for entries in by_length.values():
        for (fmt, _), path in zip(entries, constrained_paths(logp, [layout for _, layout in entries]), strict=True):
            if not path.text or not fmt.accepts(path.text):
                continue
            held = best.get(fmt.key)
            if held is None or path.score > held[0].score:
                best[fmt.key] = (path, fmt)
    probs = np.exp(logp)
    decoded = []
    for path, fmt in best.values():
        confs = [float(probs[s : e + 1, 1 + ALNUM.index(ch)].max()) for ch, (s, e) in zip(path.text, path.spans,
                                                                                          strict=True)]  # fmt: skip
        penalty = max(0.0, free - path.score)
        confidence = float(np.mean(confs)) * math.exp(-penalty / len(path.text))
        decoded.append(Decoded(path.text, fmt, penalty, confidence))
    return sorted(decoded, key=lambda d: (d.penalty, -d.confidence))


# --- candidates -----------------------------------------------------------------------------------------------
def _height(polygon: np.ndarray) -> float:
    rect = cv2.minAreaRect(polygon.astype(np.float32))
    w, h = rect[1]
    return float(min(w, h)) if w and h else 1.0


def row_groups(polygons: Sequence[np.ndarray], max_group: int = MAX_GROUP) -> list[list[int]]:
    """Runs of neighbouring regions along rows (indices, left to right): regions of similar height, centres on a
    line, gaps under 1.5 heights; every contiguous run of up to ``max_group`` regions of a row."""
    if not polygons:
        return []
    boxes = [(p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()) for p in polygons]
    heights = [_height(p) for p in polygons]
    order = sorted(range(len(polygons)), key=lambda i: boxes[i][0])
    rows: list[list[int]] = []
    for i in order:
        placed = False
        for row in rows:
            j = row[-1]
            h = max(heights[i], heights[j])
            cy_i, cy_j = (boxes[i][1] + boxes[i][3]) / 2, (boxes[j][1] + boxes[j][3]) / 2
            gap = boxes[i][0] - boxes[j][2]
            similar = min(heights[i], heights[j]) / max(h, 1e-6) > 0.55
            if similar and abs(cy_i - cy_j) < 0.6 * h and -0.5 * h < gap < 1.5 * h:
                row.append(i)
                placed = True
                break
        if not placed:
            rows.append([i])
    runs = []
    for row in rows:
        for a in range(len(row)):
            for b in range(a + 1, min(len(row), a + max_group) + 1):
                runs.append(row[a:b])
    return runs


def group_quad(polygons: Sequence[np.ndarray]) -> np.ndarray:
    """The minimum-area rectangle around regions (4×2, as ``cv2.boxPoints``)."""
    points = np.concatenate([p.reshape(-1, 2) for p in polygons]).astype(np.float32)
    rect = cv2.minAreaRect(points)
    (cx, cy), (w, h), angle = rect
    if h > w:  # keep the long side horizontal: a plate's text runs along its width
        rect = ((cx, cy), (h, w), angle - 90)
    return cv2.boxPoints(rect)


def padded_quad(quad: np.ndarray, pad_x: float, pad_y: float) -> np.ndarray:
    """``quad`` grown by fractions of its height along its own axes."""
    from textlens.geometry import order_quad

    q = order_quad(quad).astype(np.float64)
    along = (q[1] - q[0]) / max(np.linalg.norm(q[1] - q[0]), 1e-6)
    across = (q[3] - q[0]) / max(np.linalg.norm(q[3] - q[0]), 1e-6)
    h = float(np.linalg.norm(q[3] - q[0]))
    dx, dy = along * pad_x * h, across * pad_y * h
    return np.array([q[0] - dx - dy, q[1] + dx - dy, q[2] + dx + dy, q[3] - dx + dy], np.float32)


def plate_box(image: np.ndarray, quad: np.ndarray) -> tuple[float, float, float, float]:
    """The plate face around the text ``quad``: the region of the face's colour connected to the text (see the
    module docstring), or the text box grown by a plate's margins."""
    h_img, w_img = image.shape[:2]
    xs, ys = quad[:, 0], quad[:, 1]
    tx0, ty0, tx1, ty1 = float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
    th = max(_height(quad), 2.0)
    grown = (tx0 - 0.35 * th, ty0 - 0.25 * th, tx1 + 0.35 * th, ty1 + 0.25 * th)
    wx0, wy0 = max(0, int(tx0 - 1.5 * th)), max(0, int(ty0 - 1.0 * th))
    wx1, wy1 = min(w_img, int(tx1 + 1.5 * th) + 1), min(h_img, int(ty1 + 1.0 * th) + 1)
    window = cv2.cvtColor(image[wy0:wy1, wx0:wx1], cv2.COLOR_RGB2LAB).astype(np.float32)
    inner = window[int(ty0) - wy0 : int(ty1) - wy0 + 1, int(tx0) - wx0 : int(tx1) - wx0 + 1]
    if inner.size == 0 or window.size == 0:
        return _clip(grown, w_img, h_img)
    grey = inner[..., 0].astype(np.uint8)
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = grey > threshold
    face_pixels = inner[light] if light.mean() >= 0.5 else inner[~light]  # the face outweighs the ink
    if len(face_pixels) < 4:
        return _clip(grown, w_img, h_img)
    face = np.median(face_pixels, axis=0)
    spread = max(12.0, float(np.percentile(np.linalg.norm(face_pixels - face, axis=1), 80)) * 1.5)
    near = (np.linalg.norm(window - face, axis=2) < spread).astype(np.uint8)
    k = max(3, int(th * 0.5) | 1)
    text_mask = np.zeros_like(near)
    cv2.fillPoly(text_mask, [np.round(quad - [wx0, wy0]).astype(np.int32)], 1)
    near = cv2.morphologyEx(near | text_mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    near = cv2.morphologyEx(near, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=4)
    cx, cy = int((tx0 + tx1) / 2) - wx0, int((ty0 + ty1) / 2) - wy0
    cy, cx = min(max(cy, 0), near.shape[0] - 1), min(max(cx, 0), near.shape[1] - 1)
    label = labels[cy, cx]
    if label == 0:
        return _clip(grown, w_img, h_img)
    x, y, w, h = stats[label, :4]
    box = (float(x + wx0), float(y + wy0), float(x + wx0 + w), float(y + wy0 + h))
    touches = x == 0 or y == 0 or x + w >= near.shape[1] or y + h >= near.shape[0]
    if touches or h > 2.8 * th or w > 1.8 * (tx1 - tx0) + 2 * th:
        return _clip(grown, w_img, h_img)  # leaked into a background of the face's colour
    return _clip(box, w_img, h_img)


def framed_crops(crop: np.ndarray) -> list[np.ndarray]:
    """A plate's text crop in grey both ways up in polarity (dark text on light, and its inverse), solid runs of
    columns at either end (the rim, the EU band) painted over in the face's grey, each framed by a band of that
    grey: the recogniser's polarity rule reads a crop's border, and a plate's dark rim or blue band there made it
    read the text as light on dark. Which polarity is the plate's is left to the readings."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    views = []
    for view in (grey, 255 - grey):
        dark = view < (threshold if view is grey else 255 - threshold)
        face = int(np.median(view[~dark])) if (~dark).any() else 255
        view = view.copy()
        h = view.shape[0]
        w = view.shape[1]
        for lo, hi in solid_edge_runs(dark.mean(axis=0) > 0.6, max(2, round(0.25 * h)), round(BAND_REACH * h)):
            # the band and whatever lies between it and the crop's side (the rim, the car around the plate)
            view[:, 0 if lo <= w - hi else lo : hi if lo <= w - hi else w] = face
        view[rim_mask(dark)] = face
        pad = max(2, round(h * 0.15))
        framed = cv2.copyMakeBorder(view, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=face)
        views.append(cv2.cvtColor(framed, cv2.COLOR_GRAY2RGB))
    return views


def edge_candidates(image: np.ndarray, limit: int = EDGE_CANDIDATES) -> list[np.ndarray]:
    """Plate-shaped regions of dense vertical edges (the classic cue: a plate's characters are a row of vertical
    strokes on a flat face): Sobel x on the grey image, closed along rows by a wide kernel, Otsu-thresholded;
    connected regions 1.5-8 times as wide as high and of plausible size, largest edge mass first, as rotated
    rectangles shrunk to the middle of the band (the text line)."""
    h, w = image.shape[:2]
    scale = min(1.0, 800.0 / max(h, w))
    small = (
        cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else image
    )
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    edges = cv2.convertScaleAbs(cv2.Sobel(grey, cv2.CV_16S, 1, 0, ksize=3))
    _, binary = cv2.threshold(edges, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kw = max(5, round(small.shape[1] / 60))
    closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, 3)))
    closed = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5)))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[tuple[float, np.ndarray]] = []
    for contour in contours:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if rh > rw:
            rw, rh, angle = rh, rw, angle - 90
        if rh < 8 or not 1.5 <= rw / max(rh, 1) <= 8 or abs(angle) > 20 or rw > 0.6 * small.shape[1]:
            continue
        x0, y0 = max(0, int(cx - rw / 2)), max(0, int(cy - rh / 2))
        patch = edges[y0 : int(cy + rh / 2) + 1, x0 : int(cx + rw / 2) + 1]
        mass = float(patch.mean()) if patch.size else 0.0
        box = cv2.boxPoints(((cx, cy), (rw, rh * 0.8), angle)) / scale
        found.append((mass, box.astype(np.float32)))
    found.sort(key=lambda pair: -pair[0])
    return [box for _, box in found[:limit]]


def line_box(quad: np.ndarray) -> tuple[float, float, float, float]:
    """The box reported for a plate: its line of characters (the face's width) grown by ``BOX_MARGIN``."""
    h = _height(quad)
    xs, ys = quad[:, 0], quad[:, 1]
    mx, my = BOX_MARGIN[0] * h, BOX_MARGIN[1] * h
    return (float(xs.min() - mx), float(ys.min() - my), float(xs.max() + mx), float(ys.max() + my))


def solid_edge_runs(solid: np.ndarray, min_width: int, reach: int) -> list[tuple[int, int]]:
    """Runs (start, end) of solid columns (gaps of two columns bridged) at least ``min_width`` wide that begin
    within ``reach`` columns of the crop's left side or end within ``reach`` of its right side: a band or a rim,
    not a character's stem (narrower) nor a character next to one."""
    w = len(solid)
    runs: list[tuple[int, int]] = []
    start, last = None, -10
    for x in range(w + 3):
        on = x < w and bool(solid[x])
        if on:
            if start is None or x - last > 3:
                if start is not None:
                    runs.append((start, last + 1))
                start = x
            last = x
    if start is not None:
        runs.append((start, last + 1))
    return [(a, b) for a, b in runs if b - a >= min_width and (a <= reach or b >= w - reach)]


def rim_mask(dark: np.ndarray) -> np.ndarray:
    """The plate's rim in a text crop's ink mask: ink blobs touching the crop's left or right side, crossing its
    whole height, or running along most of its width while thin (the rim's top and bottom edges)."""
    h, w = dark.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
    rim = np.zeros(count, bool)
    for label in range(1, count):
        x, _, bw, bh = stats[label, :4]
        touches_side = x == 0 or x + bw >= w
        crosses = bh >= 0.97 * h and bw < 0.2 * h
        lengthwise = bw >= 0.6 * w and bh < 0.25 * h
        rim[label] = touches_side or crosses or lengthwise
    return rim[labels]


def along_face(quad: np.ndarray, face: tuple[float, float, float, float]) -> np.ndarray:
    """The text ``quad`` stretched along its own axis to the ``face`` box's extent (less its rim): the whole line
    of characters of a plate whose text the detector cut short."""
    from textlens.geometry import order_quad

    q = order_quad(quad).astype(np.float64)
    along = q[1] - q[0]
    length = float(np.linalg.norm(along))
    if length < 1:
        return quad
    axis = along / length
    origin = q[0]
    x0, y0, x1, y1 = face
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    t = (corners - origin) @ axis
    rim = 0.03 * (t.max() - t.min())
    lo, hi = min(0.0, t.min() + rim), max(length, t.max() - rim)
    shift_lo, shift_hi = axis * lo, axis * (hi - length)
    return np.array([q[0] + shift_lo, q[1] + shift_hi, q[2] + shift_hi, q[3] + shift_lo], np.float32)


def _quad_box(quad: np.ndarray) -> tuple[float, float, float, float]:
    return (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))


def _clip(box: tuple[float, float, float, float], w: int, h: int) -> tuple[float, float, float, float]:
    return (max(0.0, box[0]), max(0.0, box[1]), min(float(w), box[2]), min(float(h), box[3]))


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# --- the reader ------------------------------------------------------------------------------------------------
class PlateReader:
    """Plates in an RGB image: ``PlateReader().read(image) -> [PlateReading]`` (see the module docstring).

    ``ocr`` is a ``textlens.OCR`` (its detector finds the text; a default one reading in the scene domain with
    ``threads`` is built when not given); ``recognizer`` reads the plates: a folder, an ``OnnxRecognizer``, or
    None for the plate pack ``PLATE_PACK`` when it is there, else the OCR's recogniser; ``regions`` limits the
    formats (``["DE", "US"]``); readings under ``min_confidence`` are dropped.
    """

    def __init__(
        self,
        ocr: Any = None,
        regions: Sequence[str] | None = None,
        min_confidence: float = MIN_CONFIDENCE,
        threads: int | None = None,
        recognizer: Any = None,
    ) -> None:
        from textlens.errors import ConfigError
        from textlens.extract.plate_formats import formats_of

        if ocr is None:
            from textlens.pipeline import OCR

            ocr = OCR(threads=threads, domain="scene")
        self.ocr = ocr
        self.formats = formats_of(regions)
        if not self.formats:
            raise ConfigError(f"no plate formats for the regions {', '.join(regions or [])}")
        self.min_confidence = min_confidence
        if recognizer is None:
            recognizer = PLATE_PACK if (PLATE_PACK / "model.onnx").is_file() else ocr.recognizer
        if isinstance(recognizer, (str, Path)):
            from textlens.runtime.recognizer import OnnxRecognizer

            recognizer = OnnxRecognizer(recognizer, threads=threads, second_look_below=None)
        if not hasattr(recognizer, "probabilities") or not hasattr(recognizer, "charset"):
            raise ConfigError("plate reading needs a CTC recogniser with per-step probabilities (an OnnxRecognizer)")
        self.recognizer = recognizer

    def candidates(self, image: np.ndarray) -> list[np.ndarray]:
        """Text quads worth reading as plates: runs of detector regions along rows, then plate-shaped regions
        of dense vertical edges that no detector region overlaps (``edge_candidates``)."""
        detections = self.ocr.detect(image, "scene")
        polygons = [np.asarray(d.polygon, np.float32) for d in detections]
        quads = [group_quad([polygons[i] for i in run]) for run in row_groups(polygons)]
        boxes = [_quad_box(q) for q in quads]
        extra = [q for q in edge_candidates(image) if all(box_iou(_quad_box(q), b) == 0.0 for b in boxes)]
        return quads + extra

    def read_quad(self, image: np.ndarray, quad: np.ndarray) -> PlateReading | None:
        """The best plate reading of one text quad (None when no format accepts a reading)."""
        from textlens.runtime.crops import crop_quad

        crops = framed_crops(crop_quad(image, padded_quad(quad, 0.12, 0.06))[0])
        folded = [fold_probabilities(probs, self.recognizer.charset) for probs in self._probabilities(crops)]
        # The polarity the recogniser reads more surely (mean best log-probability per step) is the plate's.
        logp = max(folded, key=lambda lp: free_score(lp) / max(len(lp), 1))
        decoded = decode_plate(logp, self.formats)
        if not decoded:
            return None
        top, text_box = decoded[0], _quad_box(quad)
        return PlateReading(top.format.display(top.compact), top.compact, top.format.region, top.format.key,
                            text_box, top.confidence, top.penalty, text_box)  # fmt: skip

    def _probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per crop, the recogniser's T×K probabilities."""
        return [self.recognizer.probabilities(crop) for crop in crops]

    def read(self, image: np.ndarray) -> list[PlateReading]:
        """The plates in ``image`` (RGB uint8), most confident first, one per place."""
        import dataclasses

        found = []
        for text_quad in self.candidates(image):
            # The detector may cut a plate's text short; the face around it says how far the plate runs.
            quad = along_face(text_quad, plate_box(image, text_quad))
            # The whole face's line, the region widened, and the region itself: the reading of the most
            # characters among the confident ones (a cut-short line still fits some format, DE's especially).
            options = [quad, padded_quad(text_quad, WIDEN, 0.0), text_quad]
            readings = [(r, q) for q in options if (r := self.read_quad(image, q)) is not None]
            readings = [(r, q) for r, q in readings if r.confidence >= self.min_confidence]
            if readings:
                found.append(max(readings, key=lambda pair: pair[0].confidence + LONGER_BONUS * len(pair[0].compact)))
        # Most confident first; a reading of more characters in the same place wins over a close second.
        found.sort(key=lambda pair: -(pair[0].confidence + LONGER_BONUS * len(pair[0].compact)))
        kept: list[tuple[PlateReading, np.ndarray]] = []
        for reading, quad in found:
            if all(box_iou(reading.text_box, k.text_box) == 0.0 for k, _ in kept):
                kept.append((reading, quad))
        h, w = image.shape[:2]
        return [dataclasses.replace(r, box=_clip(line_box(quad), w, h)) for r, quad in kept]


class PlateExtractor:
    """The plate task as an ``Extractor`` (``textlens.extract`` registry): plates of a read ``Document``'s pages,
    found again in their pixels (``Page.load_image``; a page without a source gives no plates). Fields: ``plate``,
    the most confident plate (``value`` as printed, ``raw`` compact); every plate is in ``metadata["plates"]``."""

    task = "plate"
    fields = ("plate",)

    def __init__(self, regions: Sequence[str] | None = None, reader: PlateReader | None = None) -> None:
        self.reader = reader if reader is not None else PlateReader(regions=regions)

    def extract(self, document: Any) -> Any:
        from textlens.extract.base import Extraction, Field

        plates: list[dict[str, Any]] = []
        best: Field = Field("plate")
        for index, page in enumerate(document.pages):
            image = page.load_image()
            if image is None:
                continue
            for reading in self.reader.read(np.asarray(image)):
                plates.append({**reading.to_dict(), "page": index})
                if reading.confidence > best.confidence:
                    best = Field("plate", reading.plate, reading.compact, reading.confidence, (reading.box,), index)
        return Extraction("plate", {"plate": best}, metadata={"plates": plates})
