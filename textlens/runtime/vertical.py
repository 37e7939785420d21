"""Stacked vertical text: upright letters one above the other (a hotel's or a pharmacy's vertical sign).

A word detector trained on horizontal words finds such letters one by one, or misses them (db_fast found two of
the five letters of a stacked "HOTEL"), and the page turned by 90° shows them as a row of sideways letters. So
the letters are found in the ink: ``stacked_columns`` chains letter-sized connected components that stand one
above the other, centred on one axis, evenly sized and spaced, with nothing beside them; ``stacked_line`` lays a
column's letters side by side on one line, which the recogniser reads as a word.

numpy + OpenCV only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import cv2
import numpy as np

from textlens.runtime.base import Detection
from textlens.runtime.crops import ink_mask

STACK_MIN_LETTERS = 3
STACK_MIN_HEIGHT = 10  # pixels: smaller blobs are print or noise, not a sign's letters
STACK_MAX_GAP = 0.6  # largest gap between two letters of a column, × the letters' height
STACK_HEIGHT_RATIO = 1.35  # letters of one column differ in height by at most this factor (capitals)
STACK_CENTRE_SHIFT = 0.3  # × the wider letter's width: how far two letters' centres may stand apart
STACK_CLEAR_SIDE = 1.0  # × the letter height: no other blob of similar size this close beside a letter


def _blobs(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x0, y0, x1, y1) of a grey page's ink components, and which of them are letter-like."""
    ink = ink_mask(gray)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x, y, w, h, area = (stats[1:, i].astype(np.float64) for i in range(5))
    fill = area / np.maximum(w * h, 1)
    letter = (
        (h >= STACK_MIN_HEIGHT)
        & (h <= 0.3 * gray.shape[0])
        & (w <= 1.6 * h)
        & (h <= 8 * w)
        & (fill > 0.12)
        & (fill < 0.92)
    )
    return np.stack([x, y, x + w, y + h], axis=1).reshape(-1, 4), letter


def stacked_columns(image: np.ndarray) -> list[np.ndarray]:
    """The stacked columns of an RGB (or grey) uint8 page: per column, its letters' boxes (K×4, top to bottom)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    every, letter = _blobs(gray)
    boxes = every[letter]
    if len(boxes) < STACK_MIN_LETTERS or len(every) > 50_000:
        return []
    boxes = boxes[np.argsort(boxes[:, 1])]
    every_h = every[:, 3] - every[:, 1]
    every_mid = (every[:, 1] + every[:, 3]) / 2
    heights = boxes[:, 3] - boxes[:, 1]
    widths = boxes[:, 2] - boxes[:, 0]
    centres = (boxes[:, 0] + boxes[:, 2]) / 2
    middles = (boxes[:, 1] + boxes[:, 3]) / 2
    below = [-1] * len(boxes)
    has_above = [False] * len(boxes)
    for i in range(len(boxes)):
        gap = boxes[:, 1] - boxes[i, 3]
        ratio = heights / heights[i]
        candidates = np.flatnonzero(
            (gap >= -0.05 * heights[i])
            & (gap <= STACK_MAX_GAP * heights[i])
            & (ratio <= STACK_HEIGHT_RATIO)
            & (ratio >= 1 / STACK_HEIGHT_RATIO)
            & (np.abs(centres - centres[i]) <= STACK_CENTRE_SHIFT * np.maximum(widths, widths[i]))
        )
        candidates = candidates[candidates != i]
        if candidates.size == 1 and not has_above[candidates[0]]:  # one clear letter below, none contested
            below[i] = int(candidates[0])
            has_above[candidates[0]] = True
    columns = []
    for start in range(len(boxes)):
        if has_above[start] or below[start] < 0:
            continue
        chain = [start]
        while below[chain[-1]] >= 0:
            chain.append(below[chain[-1]])
        if len(chain) < STACK_MIN_LETTERS:
            continue
        gaps = [boxes[b, 1] - boxes[a, 3] for a, b in itertools.pairwise(chain)]
        if max(gaps) > 2.5 * max(np.median(gaps), 0.1 * np.median(heights[chain])):
            continue  # uneven spacing: rows of a table, not one sign
        clear = True
        for i in chain:  # any ink of some size beside a letter (not just letter-like blobs: joined letters too)
            beside = (np.abs(every_mid - middles[i]) < 0.6 * heights[i]) & (every_h > 0.3 * heights[i])
            side_gap = np.maximum(every[:, 0] - boxes[i, 2], boxes[i, 0] - every[:, 2])
            if np.any(beside & (side_gap > 0) & (side_gap < STACK_CLEAR_SIDE * heights[i])):
                clear = False
                break
        if clear:
            columns.append(boxes[chain])
    return columns


def stacked_line(image: np.ndarray, letters: np.ndarray, turn: int = 0) -> np.ndarray:
    """A column's letters (boxes top to bottom) laid side by side on one line, bottoms aligned, 0.3 of their height
    apart, on the column's own background colour: the crop the recogniser reads. ``turn`` (0, 90 or 270) turns
    each letter clockwise first: the line a turned word's sideways letters would make."""
    size = float(np.median(letters[:, 3] - letters[:, 1]))
    pad, space = max(2, round(0.2 * size)), max(2, round(0.3 * size))
    x0, y0 = int(letters[:, 0].min()), int(letters[:, 1].min())
    x1, y1 = int(np.ceil(letters[:, 2].max())), int(np.ceil(letters[:, 3].max()))
    region = image[y0:y1, x0:x1].reshape(-1, image.shape[2] if image.ndim == 3 else 1)
    background = np.median(region, axis=0).astype(np.uint8)
    glyphs = [image[int(b[1]) : int(np.ceil(b[3])), int(b[0]) : int(np.ceil(b[2]))] for b in letters]
    glyphs = [np.rot90(g, -(turn // 90)) for g in glyphs]
    tall = max(g.shape[0] for g in glyphs)
    width = sum(g.shape[1] for g in glyphs) + space * (len(glyphs) - 1) + 2 * pad
    canvas = np.empty((tall + 2 * pad, width, *image.shape[2:]), np.uint8)
    canvas[...] = background.reshape(image.shape[2:]) if image.ndim == 3 else background[0]
    x = pad
    for glyph in glyphs:
        top = pad + tall - glyph.shape[0]
        canvas[top : top + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        x += glyph.shape[1] + space
    return canvas


def with_stacked_columns(
    image: np.ndarray, detections: list[Detection], upright: Callable[[np.ndarray], bool] | None = None
) -> list[Detection]:
    """``detections`` with the page's stacked columns added (``Detection.letters`` set, the column's box as its
    polygon) in place of the letter-sized regions inside them. A column with a letter inside a wide region
    (a region over twice its width: a word of a horizontal line, as the initials of a list's rows) is not one,
    nor one for which ``upright(letters)`` (the pipeline: does it read as upright letters?) says no."""
    columns = stacked_columns(image)
    if not columns:
        return detections
    boxes = np.array([d.box for d in detections], dtype=np.float64).reshape(-1, 4)
    out = list(detections)
    for letters in columns:
        cx, cy = (letters[:, 0] + letters[:, 2]) / 2, (letters[:, 1] + letters[:, 3]) / 2
        inside = (
            (boxes[None, :, 0] <= cx[:, None])
            & (cx[:, None] <= boxes[None, :, 2])
            & (boxes[None, :, 1] <= cy[:, None])
            & (cy[:, None] <= boxes[None, :, 3])
        )
        # A region around a letter at least twice its width holds more than the letter: a horizontal word.
        wider = (boxes[None, :, 2] - boxes[None, :, 0]) > 2 * (letters[:, 2:3] - letters[:, 0:1])
        if np.any(inside & wider) or (upright is not None and not upright(letters)):
            continue
        x0, y0 = letters[:, 0].min(), letters[:, 1].min()
        x1, y1 = letters[:, 2].max(), letters[:, 3].max()
        pad = 0.1 * float(np.median(letters[:, 3] - letters[:, 1]))
        out = [
            d
            for d in out
            if not (
                x0 - pad <= (d.box[0] + d.box[2]) / 2 <= x1 + pad and y0 - pad <= (d.box[1] + d.box[3]) / 2 <= y1 + pad
            )
        ]
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
        out.append(Detection(polygon=quad, score=1.0, letters=letters.astype(np.float32)))
    return out
