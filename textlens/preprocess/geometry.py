"""Geometric transforms: rotation, deskew, margin crop and rescaling to a target text height.

Each function returns the new image together with what it measured (angle, offset, scale); the step
classes wrap them and report the 3x3 transform from input to output coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from textlens.preprocess.base import (
    AppliedStep,
    PreprocessResult,
    affine_to_homogeneous,
    check_image,
    require,
    scaling,
    to_gray,
    translation,
    white_of,
)
from textlens.preprocess.binarize import MIN_CONTRAST, text_mask

# Skew estimation works on a downscaled page: line structure survives, cost stays ~constant.
SKEW_MAX_SIDE = 1200
SKEW_MAX_POINTS = 250_000
# Coarse step must stay below the width of the score peak (about line height / text width radians).
SKEW_COARSE_STEP = 0.25
SKEW_MIN_INK = 50
# Black-hat kernel on the downscaled page: wider than body-text strokes, narrower than paper areas.
SKEW_KERNEL = 15
# A stroke must be this many gray levels darker than its surroundings to count as ink.
MIN_STROKE_CONTRAST = 20


def rotate_bound(
    image: np.ndarray, angle: float, expand: bool = True, interpolation: int = cv2.INTER_LINEAR
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate counter-clockwise by ``angle`` degrees with a white border.

    With ``expand`` the canvas grows so no corner is cut. Returns the image and the 2x3 matrix given
    to cv2.warpAffine (OpenCV's pixel-centre convention; see `affine_to_homogeneous`).
    """
    image = check_image(image)
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(angle), 1.0)
    out_w, out_h = w, h
    if expand:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        out_w = round(h * sin + w * cos)
        out_h = round(h * cos + w * sin)
        # Move the rotation centre to the centre of the larger canvas.
        matrix[0, 2] += (out_w - w) / 2.0
        matrix[1, 2] += (out_h - h) / 2.0
    rotated = cv2.warpAffine(
        image,
        matrix,
        (out_w, out_h),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=white_of(image),
    )
    return rotated, matrix


def _edge_artifacts(stats: np.ndarray, width: int, height: int, fraction: float) -> np.ndarray:
    """Rows of component ``stats`` that touch the image border and span more than ``fraction`` of it.

    Such components are scanner edges, shadows and frame lines, not text.
    """
    x, y, cw, ch = (stats[:, i] for i in range(4))
    touches = (x == 0) | (y == 0) | (x + cw == width) | (y + ch == height)
    return touches & ((cw > fraction * width) | (ch > fraction * height))


def _skew_mask(gray: np.ndarray) -> np.ndarray:
    """Ink mask for skew estimation: strokes darker than their surroundings.

    A morphological black-hat responds to thin dark strokes whatever the paper shade, so a gray
    receipt on a white or black scanner bed does not turn into one big "ink" blob. Falls back to
    the global Otsu mask when strokes are too thick for the kernel (very large text).
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (SKEW_KERNEL, SKEW_KERNEL))
    response = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    threshold, _ = cv2.threshold(response, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, mask = cv2.threshold(response, max(threshold, MIN_STROKE_CONTRAST), 255, cv2.THRESH_BINARY)
    if cv2.countNonZero(mask) < SKEW_MIN_INK:
        mask = text_mask(gray)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    artifacts = np.flatnonzero(_edge_artifacts(stats[1:], gray.shape[1], gray.shape[0], 0.25)) + 1
    if len(artifacts):
        mask[np.isin(labels, artifacts)] = 0
    return mask


def _ink_points(image: np.ndarray, max_side: int) -> np.ndarray:
    """(N, 2) float coordinates of ink pixels on a downscaled copy, centred on the page middle."""
    gray = to_gray(image)
    h, w = gray.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if int(gray.max()) - int(gray.min()) < MIN_CONTRAST:
        return np.zeros((0, 2))
    ys, xs = np.nonzero(_skew_mask(gray))
    if len(xs) > SKEW_MAX_POINTS:
        # A regular stride keeps the estimate deterministic.
        stride = math.ceil(len(xs) / SKEW_MAX_POINTS)
        xs, ys = xs[::stride], ys[::stride]
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    # Sample each ink pixel at a random spot inside its square (fixed seed: deterministic). On the
    # exact pixel grid every point lands on a whole row at 0°, a spike that beats a real small skew.
    pts += np.random.default_rng(0).random(pts.shape)
    return pts - np.array([gray.shape[1] / 2.0, gray.shape[0] / 2.0])


def _profile_score(points: np.ndarray, angle: float) -> float:
    """Sharpness of the row profile after undoing a skew of ``angle`` degrees.

    Text lines become thin dense rows when the angle is right, which maximises the sum of squared
    row counts (the profile variance up to a constant).
    """
    theta = math.radians(angle)
    rows = points[:, 0] * math.sin(theta) + points[:, 1] * math.cos(theta)
    rows -= rows.min()
    # Linear splatting into the two nearest rows keeps the score smooth in the angle; plain
    # flooring makes it jagged near multiples of the pixel grid.
    base = np.floor(rows)
    frac = rows - base
    index = base.astype(np.int64)
    counts = np.bincount(index, weights=1.0 - frac, minlength=int(index.max()) + 2)
    counts[1:] += np.bincount(index, weights=frac, minlength=len(counts) - 1)
    return float(np.dot(counts, counts))


def _best_angle(points: np.ndarray, angles: np.ndarray) -> float:
    scores = np.array([_profile_score(points, a) for a in angles])
    i = int(np.argmax(scores))
    if 0 < i < len(angles) - 1:
        # Parabolic interpolation through the peak and its neighbours for sub-step precision.
        left, mid, right = scores[i - 1 : i + 2]
        denom = left - 2 * mid + right
        if denom < 0:
            offset = 0.5 * (left - right) / denom
            return float(angles[i] + offset * (angles[1] - angles[0]))
    return float(angles[i])


def estimate_skew(image: np.ndarray, max_angle: float = 15.0, max_side: int = SKEW_MAX_SIDE) -> float:
    """Skew of a text page in degrees (counter-clockwise positive), within [-max_angle, max_angle].

    Projection-profile search, coarse to fine. `rotate_bound(image, -angle)` straightens the page.
    Returns 0.0 on a page without enough ink to decide.
    """
    require(0 < max_angle <= 45, f"max_angle must be in (0, 45], got {max_angle}")
    points = _ink_points(image, max_side)
    if len(points) < SKEW_MIN_INK:
        return 0.0
    n = round(2 * max_angle / SKEW_COARSE_STEP)
    best = _best_angle(points, np.linspace(-max_angle, max_angle, n + 1))
    for half_width, step in ((SKEW_COARSE_STEP, 0.05), (0.05, 0.01)):
        lo, hi = max(-max_angle, best - half_width), min(max_angle, best + half_width)
        best = _best_angle(points, np.arange(lo, hi + step / 2, step))
    return float(np.clip(best, -max_angle, max_angle))


def deskew(
    image: np.ndarray, max_angle: float = 15.0, expand: bool = True, min_angle: float = 0.05
) -> tuple[np.ndarray, float, np.ndarray]:
    """Estimate the skew and rotate it away.

    Returns (image, angle, 2x3 cv2 matrix); skews under ``min_angle`` degrees are left alone to avoid
    a needless resampling blur (matrix is then the identity).
    """
    image = check_image(image)
    angle = estimate_skew(image, max_angle)
    if abs(angle) < min_angle:
        return image.copy(), angle, np.eye(2, 3)
    rotated, matrix = rotate_bound(image, -angle, expand=expand)
    return rotated, angle, matrix


def _ink_components(image: np.ndarray, min_area: int) -> np.ndarray:
    """Stats rows (x, y, w, h, area) of ink connected components of at least ``min_area`` pixels."""
    mask = text_mask(image)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:]  # row 0 is the background
    return stats[stats[:, cv2.CC_STAT_AREA] >= min_area]


def content_box(image: np.ndarray, min_area: int = 6) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of the ink, or None on a blank page.

    Specks under ``min_area`` pixels and scan-edge shadows (components touching the border and
    spanning more than half the page) are ignored.
    """
    image = check_image(image)
    h, w = image.shape[:2]
    stats = _ink_components(image, min_area)
    stats = stats[~_edge_artifacts(stats, w, h, 0.5)]
    if len(stats) == 0:
        return None
    x0, y0 = stats[:, 0].min(), stats[:, 1].min()
    x1, y1 = (stats[:, 0] + stats[:, 2]).max(), (stats[:, 1] + stats[:, 3]).max()
    return int(x0), int(y0), int(x1), int(y1)


def crop_margins(image: np.ndarray, padding: int = 16, min_area: int = 6) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop to the ink bounding box plus ``padding`` pixels; returns the crop and its (x, y) offset.

    A blank page is returned whole with offset (0, 0).
    """
    require(padding >= 0, f"padding must be >= 0, got {padding}")
    image = check_image(image)
    box = content_box(image, min_area)
    if box is None:
        return image.copy(), (0, 0)
    h, w = image.shape[:2]
    x0, y0 = max(0, box[0] - padding), max(0, box[1] - padding)
    x1, y1 = min(w, box[2] + padding), min(h, box[3] + padding)
    return image[y0:y1, x0:x1].copy(), (x0, y0)


def estimate_text_height(image: np.ndarray, min_height: int = 3) -> float | None:
    """Typical text height in pixels: the dominant height among character-like ink components.

    Lowercase letters without ascenders or descenders are the largest group of equal-height
    components in running text, so the peak of a log-height histogram lands on the x-height (the
    median would drift towards ascender height); on forms dominated by capitals and digits it is
    their height. Each component counts with its height, so swarms of specks (halftone shading,
    noise) do not outvote the text. Returns None when there is too little text.
    """
    image = check_image(image)
    stats = _ink_components(image, min_area=max(4, min_height))
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    # Character-like: not specks, rules, pictures or hollow frames.
    keep = (h >= min_height) & (h <= image.shape[0] / 8) & (w <= 4 * h) & (h <= 6 * w) & (area >= 0.1 * w * h)
    heights = h[keep].astype(np.float64)
    if len(heights) < 8:
        return None
    log_h = np.log(heights)
    bin_width = math.log(1.08)
    edges = np.arange(log_h.min(), log_h.max() + 2 * bin_width, bin_width)
    hist, _ = np.histogram(log_h, edges, weights=heights)
    hist = np.convolve(hist, [1, 2, 1], mode="same")
    peak = int(np.argmax(hist))
    near = np.abs(log_h - 0.5 * (edges[peak] + edges[peak + 1])) <= 1.5 * bin_width
    return float(np.median(heights[near]))


def rescale(image: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """Resize by ``scale``; returns the image and the exact per-axis factors after rounding."""
    require(scale > 0, f"scale must be > 0, got {scale}")
    image = check_image(image)
    h, w = image.shape[:2]
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(image, (out_w, out_h), interpolation=interpolation)
    return out, out_w / w, out_h / h


def rescale_to_text_height(
    image: np.ndarray, target: float, min_scale: float = 0.25, max_scale: float = 4.0
) -> tuple[np.ndarray, float, float | None]:
    """Scale so the estimated text height (`estimate_text_height`) becomes ``target`` pixels.

    Returns (image, scale, measured height). The scale is clipped to [min_scale, max_scale]; with no
    measurable text the image is returned unscaled (scale 1.0, height None).
    """
    require(target > 0, f"target text height must be > 0, got {target}")
    require(0 < min_scale <= 1 <= max_scale, f"need 0 < min_scale <= 1 <= max_scale, got {min_scale}, {max_scale}")
    height = estimate_text_height(image)
    if height is None:
        return check_image(image).copy(), 1.0, None
    scale = float(np.clip(target / height, min_scale, max_scale))
    out, _, _ = rescale(image, scale)
    return out, scale, height


@dataclass(frozen=True)
class Rotate:
    """Step: rotate by a fixed angle (degrees, counter-clockwise)."""

    angle: float
    expand: bool = True

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        out, matrix = rotate_bound(image, self.angle, self.expand)
        applied = AppliedStep("rotate", {"angle": self.angle})
        return PreprocessResult(out, affine_to_homogeneous(matrix), (applied,))


@dataclass(frozen=True)
class Deskew:
    """Step: estimate the page skew in [-max_angle, max_angle] and rotate it away."""

    max_angle: float = 15.0
    expand: bool = True
    min_angle: float = 0.05

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        out, angle, matrix = deskew(image, self.max_angle, self.expand, self.min_angle)
        applied = AppliedStep("deskew", {"angle": round(angle, 3), "rotated": abs(angle) >= self.min_angle})
        return PreprocessResult(out, affine_to_homogeneous(matrix), (applied,))


@dataclass(frozen=True)
class CropMargins:
    """Step: crop to the content box plus padding."""

    padding: int = 16
    min_area: int = 6

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        before = check_image(image).shape[:2]
        out, (x0, y0) = crop_margins(image, self.padding, self.min_area)
        params = {"offset": (x0, y0), "size": (out.shape[1], out.shape[0]), "from": (before[1], before[0])}
        return PreprocessResult(out, translation(-x0, -y0), (AppliedStep("crop", params),))


@dataclass(frozen=True)
class RescaleTextHeight:
    """Step: rescale so the x-height becomes ``target`` pixels."""

    target: float
    min_scale: float = 0.25
    max_scale: float = 4.0

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        before = check_image(image).shape[:2]
        out, scale, height = rescale_to_text_height(image, self.target, self.min_scale, self.max_scale)
        sx, sy = out.shape[1] / before[1], out.shape[0] / before[0]
        params = {"scale": round(scale, 4), "text_height": None if height is None else round(height, 1)}
        return PreprocessResult(out, scaling(sx, sy), (AppliedStep("rescale", params),))
