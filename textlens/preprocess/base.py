"""Shared types and helpers for preprocessing: image checks, step results and coordinate transforms.

Coordinates follow the box convention used by `textlens.document`: pixel (col, row) covers the square
[col, col+1] x [row, row+1], so a box (x0, y0, x1, y1) is mapped by transforming its corners. Every step
reports a 3x3 homogeneous matrix taking points of its input image to points of its output image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from textlens.errors import ConfigError, InputError

WHITE = 255


@dataclass(frozen=True, eq=False)
class AppliedStep:
    """What one step did: its name and the parameters it chose or measured (e.g. the skew angle)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One human-readable line, e.g. ``deskew: angle=-3.20``."""
        if not self.params:
            return self.name
        parts = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.name}: {parts}"


@dataclass(frozen=True, eq=False)
class PreprocessResult:
    """An output image and the transform from original page coordinates to output coordinates."""

    image: np.ndarray
    transform: np.ndarray = field(default_factory=lambda: np.eye(3))
    applied: tuple[AppliedStep, ...] = ()

    def to_original(self, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Map (N, 2) points of the output image back to the original page."""
        return map_points(np.linalg.inv(self.transform), points)

    def boxes_to_original(self, boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Map (N, 4) output boxes back to the original page (axis-aligned bounds of the mapped corners)."""
        return map_boxes(np.linalg.inv(self.transform), boxes)


class Step(Protocol):
    """A preprocessing step: a pure function of the image that also reports its transform."""

    def __call__(self, image: np.ndarray) -> PreprocessResult: ...


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.2f}"
    return str(value)


def check_image(image: Any) -> np.ndarray:
    """Validate an image array (uint8, H x W or H x W x {1,3}) and return it as H x W or H x W x 3."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy image array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise InputError(f"expected an H x W gray or H x W x 3 RGB image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"image is empty (shape {image.shape})")
    # OpenCV wants contiguous buffers; views such as channel slices are copied once here.
    return np.ascontiguousarray(image)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Gray (H x W uint8) version of an RGB or gray image; a gray input is returned unchanged."""
    image = check_image(image)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def white_of(image: np.ndarray) -> tuple[int, ...]:
    """The white fill value for cv2 border arguments, matching the image's channel count."""
    return (WHITE,) * (1 if image.ndim == 2 else image.shape[2])


def require(condition: bool, message: str) -> None:
    """Raise a ConfigError for an invalid step parameter."""
    if not condition:
        raise ConfigError(message)


# --- homogeneous transforms ---------------------------------------------------------------------


def translation(dx: float, dy: float) -> np.ndarray:
    """3x3 matrix moving points by (dx, dy)."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def scaling(sx: float, sy: float) -> np.ndarray:
    """3x3 matrix scaling points about the origin (the page's top-left corner)."""
    return np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])


def affine_to_homogeneous(matrix: np.ndarray, pixel_centres: bool = True) -> np.ndarray:
    """Turn a 2x3 affine matrix into a 3x3 matrix in the box convention.

    OpenCV's warpAffine treats integer coordinates as pixel centres; with ``pixel_centres`` the
    matrix is conjugated by a half-pixel shift so it maps box-convention coordinates exactly.
    """
    full = np.vstack([np.asarray(matrix, dtype=np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
    if pixel_centres:
        full = translation(0.5, 0.5) @ full @ translation(-0.5, -0.5)
    return full


def map_points(matrix: np.ndarray, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Apply a 3x3 homogeneous matrix to (N, 2) points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(matrix, dtype=np.float64).T
    return homog[:, :2] / homog[:, 2:3]


def map_boxes(matrix: np.ndarray, boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Map (N, 4) boxes (x0, y0, x1, y1) through a matrix; returns the bounds of the mapped corners."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], axis=1)
    mapped = map_points(matrix, corners.reshape(-1, 2)).reshape(-1, 4, 2)
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)
