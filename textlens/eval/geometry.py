"""Box and polygon overlap: IoU and how much of a region lies inside another (shapely for polygons)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from shapely.geometry import Polygon as ShapelyPolygon
from shapely.validation import make_valid

from textlens.document import Box, Polygon


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def box_intersection(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two axis-aligned boxes (0 when both are empty)."""
    inter = box_intersection(a, b)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def box_inside_fraction(inner: Box, outer: Box) -> float:
    """The share of ``inner``'s own area that lies inside ``outer`` (0 for an empty ``inner``)."""
    area = box_area(inner)
    return box_intersection(inner, outer) / area if area > 0 else 0.0


@lru_cache(maxsize=4096)
def _shape(points: tuple[tuple[float, float], ...]) -> ShapelyPolygon:
    # Annotated polygons are sometimes self-intersecting (a bow tie); make_valid repairs them
    # into the area a reader would mean instead of raising inside shapely's overlay.
    shape = ShapelyPolygon(points)
    return shape if shape.is_valid else make_valid(shape)


def _points(region: Polygon | Box) -> tuple[tuple[float, float], ...]:
    if len(region) == 4 and not isinstance(region[0], Sequence):
        x0, y0, x1, y1 = region  # type: ignore[misc]
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return tuple((float(p[0]), float(p[1])) for p in region)  # type: ignore[index]


def polygon_iou(a: Polygon | Box, b: Polygon | Box) -> float:
    """IoU of two polygons (a box is taken as its rectangle)."""
    pa, pb = _shape(_points(a)), _shape(_points(b))
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    return inter / union if union > 0 else 0.0


def polygon_inside_fraction(inner: Polygon | Box, outer: Polygon | Box) -> float:
    """The share of ``inner``'s own area inside ``outer``, on polygons."""
    pi, po = _shape(_points(inner)), _shape(_points(outer))
    return pi.intersection(po).area / pi.area if pi.area > 0 else 0.0
