"""Curved text: a region's polygon from a bent DB kernel, the straight strip the recogniser reads, word spans.

A curved region is kept as a *band*: ``2N`` points, N along its top edge left to right, then N along its
bottom edge right to left (clockwise from the top-left, like a quad), where top point i and bottom point
N - 1 - i face each other across the text. ``curve_band`` builds it from a DB kernel contour (model pixels),
``rectify_band`` warps the band into a straight strip (piecewise along its centre line, ``cv2.remap``) and
``band_span`` cuts the part of the band between two fractions of its length (a word's polygon).

numpy + OpenCV only (no torch): the runtime detector and the pipeline use it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from textlens.geometry import order_quad

# A kernel is curved when its minimum-area rectangle fits it poorly (kernel area under CURVE_MAX_FILL of the
# rectangle's), it is long (centre line ≥ CURVE_MIN_LENGTH × its thickness), its thickness is even along it
# (spread under CURVE_MAX_THICKNESS_SPREAD), and its centre line bends away from the chord by at least
# CURVE_MIN_BEND × the word's height. Straight words fill their rectangle (DB kernels of print: 0.85-1.0).
CURVE_MAX_FILL = 0.7
CURVE_MIN_LENGTH = 3.0
CURVE_MAX_THICKNESS_SPREAD = 0.35
CURVE_MIN_BEND = 0.25
CURVE_POINTS = 8  # points along each edge of a curved region's polygon (16 in all)


def band_points(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) edges of a band, each N×2 left to right along the text."""
    band = np.asarray(band, np.float64)
    n = len(band) // 2
    return band[:n], band[n:][::-1]


def _resample(top: np.ndarray, bottom: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Top and bottom edges resampled at ``count`` even steps of the centre line's length, and that length."""
    centre = (top + bottom) / 2
    steps = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    length = float(along[-1])
    at = np.linspace(0.0, length, count)

    def interp(edge: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(at, along, edge[:, 0]), np.interp(at, along, edge[:, 1])], axis=1)

    return interp(top), interp(bottom), length


def band_span(band: np.ndarray, start: float, end: float, points: int = 4) -> tuple[tuple[float, float], ...]:
    """The polygon of the band between fractions ``start`` and ``end`` of its length: ``points`` along its top,
    then as many along its bottom (clockwise from the top-left)."""
    top, bottom = band_points(band)
    centre = (top + bottom) / 2
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centre, axis=0), axis=1))])
    at = np.linspace(start, end, max(points, 2)) * along[-1]

    def interp(edge: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(at, along, edge[:, 0]), np.interp(at, along, edge[:, 1])], axis=1)

    poly = np.concatenate([interp(top), interp(bottom)[::-1]])
    return tuple((float(x), float(y)) for x, y in poly)


def rectify_band(image: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The band warped into a straight strip (its height the band's median height, its width the centre
    line's length): each output column samples the segment between the facing top and bottom points."""
    top, bottom = band_points(band)
    height = max(1, round(float(np.median(np.linalg.norm(bottom - top, axis=1)))))
    _, _, length = _resample(top, bottom, len(top))
    width = max(1, round(length))
    top, bottom, _ = _resample(top, bottom, width)
    v = ((np.arange(height, dtype=np.float64) + 0.5) / height)[:, None, None]
    grid = top[None] + (bottom - top)[None] * v  # height × width × 2
    map_x = np.ascontiguousarray(grid[..., 0], np.float32)
    map_y = np.ascontiguousarray(grid[..., 1], np.float32)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def flip_band(band: np.ndarray) -> np.ndarray:
    """The band of the same region read the other way up (its bottom edge becomes the top, right to left)."""
    band = np.asarray(band)
    return np.roll(band, len(band) // 2, axis=0)


def curve_band(
    kernel: np.ndarray, unclip_distance, shrink_ratio: float, points: int = CURVE_POINTS
) -> np.ndarray | None:
    """The band (2·``points``×2, model pixels) of a DB kernel contour when the kernel is clearly curved, else None.

    The kernel is sliced across its minimum-area rectangle's long axis; the slices' midpoints, fitted by a
    cubic, are its centre line. Its thickness (area over length) is unclipped like a rectangle's
    (``unclip_distance(length, thickness, shrink_ratio)``), and the band is the centre line ± half the word's
    height along the normals, lengthened at both ends by the unclip distance.
    """
    kernel = np.asarray(kernel, np.float32).reshape(-1, 2)
    if len(kernel) < 6:
        return None
    rect = cv2.minAreaRect(kernel)
    rect_area = rect[1][0] * rect[1][1]
    area = float(cv2.contourArea(kernel))
    if rect_area <= 0 or area <= 0 or area >= CURVE_MAX_FILL * rect_area:
        return None
    quad = order_quad(cv2.boxPoints(rect).astype(np.float32)).astype(np.float64)
    direction = quad[1] - quad[0]
    if np.linalg.norm(direction) < np.linalg.norm(quad[3] - quad[0]):  # the long axis runs down the rectangle
        return None  # (vertical curved text is not handled: it stays a quad)
    direction /= np.linalg.norm(direction)
    normal = np.array([-direction[1], direction[0]])
    origin = quad[0]
    # The kernel drawn in the rectangle's own frame (t along the text, s across it), at one pixel per unit.
    t = (kernel - origin) @ direction
    s = (kernel - origin) @ normal
    t0, s0 = float(t.min()), float(s.min())
    w, h = math.ceil(t.max() - t0) + 3, math.ceil(s.max() - s0) + 3
    if w * h > 4_000_000:
        return None
    mask = np.zeros((h, w), np.uint8)
    local = np.stack([t - t0 + 1, s - s0 + 1], axis=1)
    cv2.fillPoly(mask, [np.round(local).astype(np.int32).reshape(-1, 1, 2)], 1)
    columns = np.linspace(1, w - 2, 2 * points + 1)[1::2]  # centres of 2·points even slices
    ts, mids, extents = [], [], []
    for c in columns:
        rows = np.flatnonzero(mask[:, round(c)])
        if rows.size:
            ts.append(c)
            mids.append((rows[0] + rows[-1]) / 2)
            extents.append(rows[-1] - rows[0] + 1)
    if len(ts) < 4:
        return None
    ts_a, mids_a = np.asarray(ts), np.asarray(mids)
    coef = np.polyfit(ts_a, mids_a, 3 if len(ts) >= 6 else 2)
    slope = np.polyval(np.polyder(coef), ts_a)
    thickness_each = np.asarray(extents) * np.cos(np.arctan(slope))  # across the curve, not across the chord
    thickness = float(np.median(thickness_each))
    if thickness <= 0 or float(np.std(thickness_each)) > CURVE_MAX_THICKNESS_SPREAD * thickness:
        return None
    # The centre line from the first to the last column of ink, sampled densely for its length.
    ink_cols = np.flatnonzero(mask.any(axis=0))
    fine = np.linspace(float(ink_cols[0]), float(ink_cols[-1]), 64)
    centre = np.stack([fine, np.polyval(coef, fine)], axis=1)
    length = float(np.linalg.norm(np.diff(centre, axis=0), axis=1).sum())
    if length < CURVE_MIN_LENGTH * thickness:
        return None
    d = float(unclip_distance(length, thickness, shrink_ratio))
    word_height = thickness + 2 * d
    chord = centre[-1] - centre[0]
    chord /= max(np.linalg.norm(chord), 1e-6)
    bend = np.abs((centre - centre[0]) @ np.array([-chord[1], chord[0]])).max()
    if bend < CURVE_MIN_BEND * word_height:
        return None
    # Tangents and normals along the centre line (frame coordinates: t right, s down), ends lengthened by d.
    tangent = np.gradient(centre, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    centre[0] -= tangent[0] * d
    centre[-1] += tangent[-1] * d
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centre, axis=0), axis=1))])
    at = np.linspace(0.0, along[-1], points)
    picks = np.stack([np.interp(at, along, centre[:, 0]), np.interp(at, along, centre[:, 1])], axis=1)
    tang = np.stack([np.interp(at, along, tangent[:, 0]), np.interp(at, along, tangent[:, 1])], axis=1)
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-9)
    norm = np.stack([-tang[:, 1], tang[:, 0]], axis=1)
    top_local = picks - norm * word_height / 2
    bottom_local = picks + norm * word_height / 2

    def to_model(p: np.ndarray) -> np.ndarray:
        tt, ss = p[:, 0] - 1 + t0, p[:, 1] - 1 + s0
        return origin + tt[:, None] * direction + ss[:, None] * normal

    return np.concatenate([to_model(top_local), to_model(bottom_local)[::-1]]).astype(np.float32)
