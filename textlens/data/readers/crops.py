"""Cutting word crops out of annotated pages: axis-aligned boxes, perspective-rectified quadrilaterals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from textlens.data.samples import CropSample, PageSample, WordAnnotation
from textlens.document import Box

Quad = np.ndarray  # 4×2 float32, clockwise from the top-left of the text


def crop_box(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray | None:
    """The crop of ``box`` grown by ``margin`` × its size, clipped to the image; None when empty."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    h, w = image.shape[:2]
    left, top = max(0, int(np.floor(x0 - dx))), max(0, int(np.floor(y0 - dy)))
    right, bottom = min(w, int(np.ceil(x1 + dx))), min(h, int(np.ceil(y1 + dy)))
    if right <= left or bottom <= top:
        return None
    return np.ascontiguousarray(image[top:bottom, left:right])


def _as_quad(polygon: Sequence[Sequence[float]]) -> Quad:
    """Four corners, clockwise on screen; more than four points become their minimum-area rectangle."""
    points = np.asarray(polygon, dtype=np.float32)
    if len(points) != 4:
        points = cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32)
    # Shoelace sum in y-down coordinates: positive means clockwise as seen on screen.
    x, y = points[:, 0], points[:, 1]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        points = np.concatenate([points[:1], points[:0:-1]])  # keep the first corner, reverse the rest
    return points


def crop_quad(image: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray | None:
    """Rectify a quadrilateral word region to an upright rectangle (the first corner becomes top-left)."""
    quad = _as_quad(polygon)
    tl, tr, br, bl = quad
    width = round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    if width < 1 or height < 1:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _is_axis_aligned(polygon: Sequence[Sequence[float]], box: Box) -> bool:
    if len(polygon) != 4:
        return False
    corners = {(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])}
    return {(float(x), float(y)) for x, y in polygon} == corners


def crop_word(image: np.ndarray, word: WordAnnotation) -> np.ndarray | None:
    """The crop of one word: a plain slice for boxes, a perspective warp for slanted polygons."""
    if word.polygon is not None and not _is_axis_aligned(word.polygon, word.box):
        return crop_quad(image, word.polygon)
    return crop_box(image, word.box)


def page_crops(page: PageSample, skip_dont_care: bool = True) -> Iterator[CropSample]:
    """The word crops of a page; don't-care and empty words are skipped unless ``skip_dont_care`` is False."""
    for index, word in enumerate(page.words):
        if skip_dont_care and (word.is_dont_care or not word.text.strip()):
            continue
        crop = crop_word(page.image, word)
        if crop is None:
            continue
        source = f"{page.source}#{index}" if page.source else None
        yield CropSample(image=crop, text=word.text, source=source)
