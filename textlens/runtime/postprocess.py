"""From model maps to word polygons: DB contours + unclip, and EAST RBOX restore + locality-aware NMS.

numpy, OpenCV, pyclipper and shapely only (no torch): the onnxruntime Detector runs these, and the detection
training system decodes its validation maps with the same functions. Coordinates come out in original page
pixels: ``scale`` = (sx, sy) is how the page was resized for the model (model pixel = page pixel × s), and
``size`` = (width, height) of the page clips the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from shapely.geometry import Polygon as ShapelyPolygon

from textlens.geometry import offset_polygon, order_quad, polygon_area, polygon_perimeter
from textlens.runtime.base import Detection
from textlens.runtime.curved import curve_band

DEFAULT_DB = {
    "thresh": 0.3,
    "box_thresh": 0.6,
    "unclip": 1.5,
    "min_size": 3,
    "shrink_ratio": 0.4,
    "unclip_mode": "exact",
    "max_candidates": 3000,
    "merge_overlap": 0.0,
    "curved": True,
}
DEFAULT_EAST = {"score_thresh": 0.8, "nms_thresh": 0.2, "box_thresh": 0.1, "min_size": 3}


def exact_unclip_distance(width: float, height: float, shrink_ratio: float) -> float:
    """How far to push a shrunk w×h rectangle's edges out to undo DB's shrink exactly.

    Training moved each edge of the original W×H rectangle in by D = W·H·k / (2(W + H)), k = 1 - r².
    With W = w + 2D and H = h + 2D this is (8 - 4k)D² + 2(1 - k)(w + h)D - k·w·h = 0; D is its positive root.
    """
    k = 1.0 - shrink_ratio**2
    a, b, c = 8.0 - 4.0 * k, 2.0 * (1.0 - k) * (width + height), -k * width * height
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def unclip_box(quad: np.ndarray, unclip: float, shrink_ratio: float, mode: str) -> np.ndarray | None:
    """Grow a kernel rectangle back to the word: ``mode="exact"`` inverts the training shrink for a
    rectangle, ``mode="ratio"`` is DB's D = A·unclip/L offset with pyclipper."""
    if mode == "ratio":
        grown = offset_polygon(quad, polygon_area(quad) * unclip / max(polygon_perimeter(quad), 1e-6))
        return None if grown is None else cv2.boxPoints(cv2.minAreaRect(grown)).astype(np.float32)
    # Contours run through the centres of the boundary pixels, and training filled the shrunk polygon
    # boundary pixels included, so the contour's own extent is the shrunk polygon's (no +1 pixel).
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad)
    d = exact_unclip_distance(w, h, shrink_ratio)
    return cv2.boxPoints(((cx, cy), (w + 2 * d, h + 2 * d), angle)).astype(np.float32)


def _region_mean(prob: np.ndarray, points: np.ndarray) -> float:
    """Mean of ``prob`` inside a polygon (computed on its bounding crop)."""
    height, width = prob.shape
    x0, y0 = np.clip(np.floor(points.min(axis=0)).astype(int), 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(points.max(axis=0)).astype(int), 0, [width - 1, height - 1])
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(points - [x0, y0]).astype(np.int32).reshape(-1, 1, 2)], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def band_to_page(band: np.ndarray, scale: tuple[float, float], size: tuple[int, int]) -> np.ndarray:
    """Model-pixel band (a curved region's 2N points) → page pixels, clipped to the page, order kept."""
    out = band.astype(np.float32) / np.asarray(scale, np.float32)
    out[:, 0] = np.clip(out[:, 0], 0, size[0])
    out[:, 1] = np.clip(out[:, 1], 0, size[1])
    return out


def to_page(quad: np.ndarray, scale: tuple[float, float], size: tuple[int, int]) -> np.ndarray:
    """Model-pixel quad → page pixels, clipped to the page, ordered clockwise from top-left."""
    out = quad.astype(np.float32) / np.asarray(scale, np.float32)
    out[:, 0] = np.clip(out[:, 0], 0, size[0])
    out[:, 1] = np.clip(out[:, 1], 0, size[1])
    return order_quad(out)


def db_postprocess(
    prob: np.ndarray,
    scale: tuple[float, float] = (1.0, 1.0),
    size: tuple[int, int] | None = None,
    thresh: float = 0.3,
    box_thresh: float = 0.6,
    unclip: float = 1.5,
    min_size: float = 3,
    shrink_ratio: float = 0.4,
    unclip_mode: str = "exact",
    max_candidates: int = 3000,
    merge_overlap: float = 0.0,
    curved: bool = True,
) -> list[Detection]:
    """Word quads from a DB probability map (H×W, values in [0, 1]).

    Threshold at ``thresh``; each contour's minimum-area rectangle is kept when its short side is at least
    ``min_size`` model pixels and the mean probability inside the contour is at least ``box_thresh``;
    it is then unclipped back to the word's size and mapped to the page. With ``merge_overlap`` > 0,
    regions of one text line that overlap along it by more than that many box heights are joined
    (see :func:`merge_line_fragments`). With ``curved``, a region whose kernel is clearly curved (its
    minimum-area rectangle fits it poorly; ``textlens.runtime.curved.curve_band``) also carries its band
    (``Detection.curve``, 2N points); its ``polygon`` stays the quad.
    """
    prob = np.asarray(prob, np.float32)
    if prob.ndim == 3:
        prob = prob[0]
    if size is None:
        size = (round(prob.shape[1] / scale[0]), round(prob.shape[0] / scale[1]))
    bitmap = (prob > thresh).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    detections: list[Detection] = []
    for contour in contours[:max_candidates]:
        points = contour.reshape(-1, 2).astype(np.float32)
        if len(points) < 2:
            continue
        (_, _), (w, h), _ = cv2.minAreaRect(points)
        # The kernel is much thinner than the word: its own size limit is a third of min_size.
        if min(w, h) + 1 < min_size / 3:
            continue
        score = _region_mean(prob, points) if len(points) >= 3 else float(prob[int(points[0, 1]), int(points[0, 0])])
        if score < box_thresh:
            continue
        quad = unclip_box(cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32), unclip, shrink_ratio, unclip_mode)
        if quad is None:
            continue
        (_, _), (w, h), _ = cv2.minAreaRect(quad)
        if min(w, h) < min_size:
            continue
        band = curve_band(points, exact_unclip_distance, shrink_ratio) if curved else None
        curve = None if band is None else band_to_page(band, scale, size)
        detections.append(Detection(polygon=to_page(quad, scale, size), score=score, curve=curve))
    if merge_overlap > 0:
        detections = merge_line_fragments(detections, merge_overlap)
    return sort_reading(detections)


def merge_line_fragments(detections: Sequence[Detection], min_overlap: float) -> list[Detection]:
    """Join regions that are pieces of one run of text: same line (vertical overlap ≥ 70 % of the lower
    box) and overlapping along it by ≥ ``min_overlap`` × the lower box height.

    Exact unclipping restores separate words to boxes that at most touch, so an overlap that deep means
    the kernel broke inside a word (a model that learnt line-level regions does this on widely spaced
    print); reading the halves separately cuts the word in two. The joined region is the minimum-area
    rectangle of both, scored by the lower score.
    """
    quads = [np.asarray(d.polygon, np.float32) for d in detections]
    boxes = [d.box for d in detections]
    # Axis-aligned extents describe a line only when it is near horizontal; tilted regions are left alone.
    level = [_is_level(q) for q in quads]
    parent = list(range(len(quads)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Sweep in order of left edge: a region can only overlap those that start before it ends.
    order = sorted(range(len(quads)), key=lambda i: boxes[i][0])
    for rank, i in enumerate(order):
        for j in order[rank + 1 :]:
            if boxes[j][0] > boxes[i][2]:
                break
            if level[i] and level[j] and _same_run(boxes[i], boxes[j], min_overlap):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(quads)):
        groups.setdefault(root(i), []).append(i)
    merged: list[Detection] = []
    for members in groups.values():
        if len(members) == 1:
            merged.append(detections[members[0]])
            continue
        points = np.concatenate([quads[i] for i in members])
        quad = order_quad(cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32))
        merged.append(Detection(polygon=quad, score=min(float(detections[i].score) for i in members)))
    return merged


def _is_level(quad: np.ndarray, max_degrees: float = 10.0) -> bool:
    dx, dy = quad[1] - quad[0]
    return abs(math.degrees(math.atan2(dy, dx))) <= max_degrees


def _same_run(a: tuple[float, ...], b: tuple[float, ...], min_overlap: float) -> bool:
    """Boxes (x0, y0, x1, y1) on one line that overlap along it by ≥ ``min_overlap`` × the lower height."""
    height = min(a[3] - a[1], b[3] - b[1])
    if height <= 0 or min(a[3], b[3]) - max(a[1], b[1]) < 0.7 * height:
        return False
    return min(a[2], b[2]) - max(a[0], b[0]) >= min_overlap * height


def sort_reading(detections: Sequence[Detection]) -> list[Detection]:
    """Top-to-bottom, then left-to-right by box corner (a stable order for callers and tests)."""
    return sorted(detections, key=lambda d: (round(d.box[1]), d.box[0]))


# ------------------------------------------------------------------------------------------------ EAST


def restore_rboxes(xs: np.ndarray, ys: np.ndarray, geo: np.ndarray, stride: int) -> np.ndarray:
    """Quads (K×4×2, input pixels) from pixel positions and their RBOX geometry (5×K)."""
    top, right, bottom, left, angle = geo
    cx, cy = (xs + 0.5) * stride, (ys + 0.5) * stride
    local = np.stack(
        [
            np.stack([-left, -top], 1),
            np.stack([right, -top], 1),
            np.stack([right, bottom], 1),
            np.stack([-left, bottom], 1),
        ],
        1,
    )  # K×4×2
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = local[..., 0] * cos - local[..., 1] * sin + cx[:, None]
    y = local[..., 0] * sin + local[..., 1] * cos + cy[:, None]
    return np.stack([x, y], axis=-1).astype(np.float32)


def quad_iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = ShapelyPolygon(a), ShapelyPolygon(b)
    if not pa.is_valid or not pb.is_valid:
        return 0.0
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    return inter / union if union > 0 else 0.0


def _aabb_overlap(quads: np.ndarray) -> np.ndarray:
    lo, hi = quads.min(axis=1), quads.max(axis=1)
    return (
        (lo[:, None, 0] <= hi[None, :, 0])
        & (lo[None, :, 0] <= hi[:, None, 0])
        & (lo[:, None, 1] <= hi[None, :, 1])
        & (lo[None, :, 1] <= hi[:, None, 1])
    )


def nms_quads(quads: np.ndarray, scores: np.ndarray, iou_thresh: float) -> list[int]:
    """Standard NMS on quads (shapely IoU, only for pairs whose bounding boxes touch); kept indices."""
    order = np.argsort(-scores)
    overlap = _aabb_overlap(quads) if len(quads) else np.zeros((0, 0), bool)
    suppressed = np.zeros(len(quads), bool)
    keep: list[int] = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        for j in np.nonzero(overlap[i] & ~suppressed)[0]:
            if j != i and quad_iou(quads[i], quads[j]) > iou_thresh:
                suppressed[j] = True
    return keep


def locality_aware_merge(quads: np.ndarray, scores: np.ndarray, iou_thresh: float) -> tuple[np.ndarray, np.ndarray]:
    """EAST's first pass: consecutive (row-major) quads that overlap are merged, weighted by score."""
    merged: list[np.ndarray] = []
    merged_scores: list[float] = []
    current, current_score = None, 0.0
    for quad, score in zip(quads, scores, strict=True):
        if current is not None and quad_iou(current, quad) > iou_thresh:
            current = (current * current_score + quad * score) / (current_score + score)
            current_score += float(score)
            continue
        if current is not None:
            merged.append(current)
            merged_scores.append(current_score)
        current, current_score = quad.astype(np.float64), float(score)
    if current is not None:
        merged.append(current)
        merged_scores.append(current_score)
    return np.asarray(merged, np.float32).reshape(-1, 4, 2), np.asarray(merged_scores, np.float32)


def east_postprocess(
    score: np.ndarray,
    geo: np.ndarray,
    stride: int = 4,
    scale: tuple[float, float] = (1.0, 1.0),
    size: tuple[int, int] | None = None,
    score_thresh: float = 0.8,
    nms_thresh: float = 0.2,
    box_thresh: float = 0.1,
    min_size: float = 3,
) -> list[Detection]:
    """Word quads from an EAST score map (h×w) and geometry (5×h×w) at 1/``stride`` resolution."""
    score = np.asarray(score, np.float32)
    if score.ndim == 3:
        score = score[0]
    if size is None:
        size = (
            round(score.shape[1] * stride / scale[0]),
            round(score.shape[0] * stride / scale[1]),
        )
    ys, xs = np.nonzero(score > score_thresh)
    if len(xs) == 0:
        return []
    quads = restore_rboxes(xs, ys, np.asarray(geo, np.float32)[:, ys, xs], stride)
    quads, weights = locality_aware_merge(quads, score[ys, xs], nms_thresh)
    keep = nms_quads(quads, weights, nms_thresh)
    detections = []
    for i in keep:
        quad = quads[i]
        (_, _), (w, h), _ = cv2.minAreaRect(quad)
        if min(w, h) < min_size:
            continue
        # Re-score on the map itself (EAST's filter): merged weights grow with a box's size, the mean does
        # not; the map is the shrunk word, so a true box has a mean well under 1.
        mean = _region_mean(score, quad / stride - 0.5)
        if mean < box_thresh:
            continue
        detections.append(Detection(polygon=to_page(quad, scale, size), score=mean))
    return sort_reading(detections)
