"""Training targets for the detectors, from word polygons (numpy, OpenCV and pyclipper; no torch).

- DB (Liao et al., 2020): the probability target is each polygon shrunk by D = A(1 - r²)/L (r = 0.4);
  the threshold target rises from ``thresh_min`` far from any edge to ``thresh_max`` on the polygon's
  edges, inside the polygon dilated by D (the only place it is learned).
- EAST (Zhou et al., 2017), RBOX: a score map of the shrunk polygons at the model's stride, and at each
  text pixel the distances to the top, right, bottom and left edges of the word's minimum-area rectangle
  plus that rectangle's angle.

Don't-care words (``ignore``) and words shorter than ``min_text_size`` px are masked out of every loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from textlens.geometry import min_side, offset_polygon, order_quad, shrink_distance


def _fill(canvas: np.ndarray, points: np.ndarray, value: float) -> None:
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], value)


def _draw_border(points: np.ndarray, distance: float, thresh: np.ndarray, thresh_mask: np.ndarray) -> None:
    """Write 1 - (distance to the nearest edge)/D into ``thresh`` around one polygon (max with what is there).

    Distances come from cv2.distanceTransform of the polygon's outline drawn on a local crop (sub-pixel
    outline, L2 distance): one C call per word instead of a points × edges array.
    """
    dilated = offset_polygon(points, distance)
    if dilated is None or distance <= 0:
        return
    _fill(thresh_mask, dilated, 1.0)
    height, width = thresh.shape
    x0, y0 = np.floor(dilated.min(axis=0)).astype(int)
    x1, y1 = np.ceil(dilated.max(axis=0)).astype(int)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if cx1 < cx0 or cy1 < cy0:
        return
    canvas = np.full((y1 - y0 + 1, x1 - x0 + 1), 255, np.uint8)
    outline = np.round((points - [x0, y0]) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [outline], True, 0, 1, cv2.LINE_8, shift=4)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    value = 1.0 - np.clip(dist / distance, 0.0, 1.0)
    value = value[cy0 - y0 : cy1 - y0 + 1, cx0 - x0 : cx1 - x0 + 1]
    region = thresh[cy0 : cy1 + 1, cx0 : cx1 + 1]
    np.maximum(region, value, out=region)


def db_targets(
    polygons: Sequence[np.ndarray],
    ignore: Sequence[bool],
    height: int,
    width: int,
    shrink_ratio: float = 0.4,
    thresh_min: float = 0.3,
    thresh_max: float = 0.7,
    min_text_size: float = 3.0,
) -> dict[str, np.ndarray]:
    """Targets for one H×W image: ``gt`` (shrunk text), ``mask`` (where the prob/binary losses count),
    ``thresh`` (threshold map) and ``thresh_mask`` (where the threshold loss counts); all float32 H×W."""
    gt = np.zeros((height, width), np.float32)
    mask = np.ones((height, width), np.float32)
    thresh = np.zeros((height, width), np.float32)
    thresh_mask = np.zeros((height, width), np.float32)
    for points, dont_care in zip(polygons, ignore, strict=True):
        points = np.asarray(points, np.float32).reshape(-1, 2)
        if len(points) < 3:
            continue
        if dont_care or min_side(points) < min_text_size:
            _fill(mask, points, 0.0)
            continue
        distance = shrink_distance(points, shrink_ratio)
        shrunk = offset_polygon(points, -distance)
        if shrunk is None:
            _fill(mask, points, 0.0)
            continue
        _fill(gt, shrunk, 1.0)
        _draw_border(points, distance, thresh, thresh_mask)
    thresh = thresh * (thresh_max - thresh_min) + thresh_min
    return {"gt": gt, "mask": mask, "thresh": thresh, "thresh_mask": thresh_mask}


def east_targets(
    polygons: Sequence[np.ndarray],
    ignore: Sequence[bool],
    height: int,
    width: int,
    stride: int = 4,
    shrink_ratio: float = 0.6,
    min_text_size: float = 4.0,
) -> dict[str, np.ndarray]:
    """Targets at 1/``stride`` resolution: ``score``, ``mask`` (h×w) and ``geo`` (5×h×w: distances in input
    pixels from each pixel centre to the top, right, bottom, left edges of the word's rectangle; angle)."""
    out_h, out_w = -(-height // stride), -(-width // stride)
    score = np.zeros((out_h, out_w), np.float32)
    mask = np.ones((out_h, out_w), np.float32)
    geo = np.zeros((5, out_h, out_w), np.float32)
    ys, xs = np.mgrid[0:out_h, 0:out_w]
    # A feature pixel (i, j) looks at the input point ((j + 0.5)·stride, (i + 0.5)·stride).
    to_feature = 1.0 / stride
    for points, dont_care in zip(polygons, ignore, strict=True):
        points = np.asarray(points, np.float32).reshape(-1, 2)
        if len(points) < 3:
            continue
        feature_points = points * to_feature - 0.5
        if dont_care or min_side(points) < min_text_size:
            _fill(mask, feature_points, 0.0)
            continue
        shrunk = offset_polygon(points, -shrink_distance(points, shrink_ratio))
        if shrunk is None:
            _fill(mask, feature_points, 0.0)
            continue
        region = np.zeros((out_h, out_w), np.uint8)
        _fill(region, shrunk * to_feature - 0.5, 1)
        sel = region.astype(bool)
        if not sel.any():
            _fill(mask, feature_points, 0.0)
            continue
        score[sel] = 1.0
        quad = order_quad(cv2.boxPoints(cv2.minAreaRect(points)))
        tl, tr, _, bl = quad
        angle = float(np.arctan2(tr[1] - tl[1], tr[0] - tl[0]))
        box_w, box_h = float(np.linalg.norm(tr - tl)), float(np.linalg.norm(bl - tl))
        cx, cy = (xs[sel] + 0.5) * stride - tl[0], (ys[sel] + 0.5) * stride - tl[1]
        cos, sin = np.cos(angle), np.sin(angle)
        u, v = cx * cos + cy * sin, -cx * sin + cy * cos  # the pixel in the rectangle's own frame
        geo[0][sel] = np.clip(v, 0, None)
        geo[1][sel] = np.clip(box_w - u, 0, None)
        geo[2][sel] = np.clip(box_h - v, 0, None)
        geo[3][sel] = np.clip(u, 0, None)
        geo[4][sel] = angle
    return {"score": score, "mask": mask, "geo": geo}
