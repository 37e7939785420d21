"""Quad and polygon geometry: corner order, area, offsets (numpy, OpenCV and pyclipper; no torch).

Shared by the detectors' label generation (``textlens.models.detection.targets``), their post-processing
and the recognition crops (``textlens.runtime.postprocess``, ``textlens.runtime.crops``). It sits below both
and imports nothing of ours, so neither has to import the other for it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyclipper


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (clockwise in image coordinates), float32.

    Any other point count is first reduced to its minimum-area rectangle. The points are sorted by their
    angle around the centre, then rolled to start at the smallest x + y.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) != 4:
        pts = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)
    centre = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    return np.roll(pts, -int(np.argmin(pts.sum(axis=1))), axis=0)


def polygon_area(points: np.ndarray) -> float:
    """Unsigned area (OpenCV's C routine: label generation calls this for every word of every crop)."""
    return float(cv2.contourArea(np.asarray(points, np.float32).reshape(-1, 1, 2)))


def polygon_perimeter(points: np.ndarray) -> float:
    return float(cv2.arcLength(np.asarray(points, np.float32).reshape(-1, 1, 2), True))


def shrink_distance(points: np.ndarray, ratio: float) -> float:
    """DB's offset D = A (1 - r²) / L: how far a polygon's edges move when it is shrunk (or dilated)."""
    perimeter = polygon_perimeter(points)
    return polygon_area(points) * (1.0 - ratio**2) / perimeter if perimeter > 0 else 0.0


def offset_polygon(points: np.ndarray, distance: float) -> np.ndarray | None:
    """The polygon moved outwards by ``distance`` pixels (inwards when negative); None when it vanishes.

    When the offset splits a polygon, the largest piece is returned.
    """
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(
        [tuple(p) for p in np.round(points).astype(np.int64).tolist()],
        pyclipper.JT_ROUND,
        pyclipper.ET_CLOSEDPOLYGON,
    )
    paths = offset.Execute(distance)
    if not paths:
        return None
    best = paths[0] if len(paths) == 1 else max(paths, key=lambda p: polygon_area(np.asarray(p, np.float32)))
    out = np.asarray(best, dtype=np.float32).reshape(-1, 2)
    return out if len(out) >= 3 else None


def min_side(points: np.ndarray) -> float:
    """The short side of the polygon's minimum-area rectangle (a text's height, whatever its angle)."""
    (_, _), (w, h), _ = cv2.minAreaRect(np.asarray(points, dtype=np.float32).reshape(-1, 2))
    return float(min(w, h))


def as_quad(box_or_polygon: tuple | list | np.ndarray) -> np.ndarray:
    """An (x0, y0, x1, y1) box or an N×2 polygon as an N×2 float32 array (a box becomes its 4 corners)."""
    arr = np.asarray(box_or_polygon, dtype=np.float32)
    if arr.ndim == 1 and arr.size == 4:
        x0, y0, x1, y1 = arr.tolist()
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return arr.reshape(-1, 2)
