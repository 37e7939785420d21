"""Colour and contrast transforms: grayscale, CLAHE and percentile contrast stretch.

None of these move pixels, so their steps report the identity transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from textlens.preprocess.base import AppliedStep, PreprocessResult, check_image, require, to_gray


def grayscale(image: np.ndarray) -> np.ndarray:
    """Luminance (H x W uint8) of an RGB image; gray images pass through."""
    return to_gray(image)


def clahe(image: np.ndarray, clip_limit: float = 2.0, tile_grid: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation.

    RGB images are equalised on the L channel of Lab so hues are kept.
    """
    image = check_image(image)
    require(clip_limit > 0, f"CLAHE clip_limit must be > 0, got {clip_limit}")
    require(tile_grid >= 1, f"CLAHE tile_grid must be >= 1, got {tile_grid}")
    op = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(int(tile_grid), int(tile_grid)))
    if image.ndim == 2:
        return op.apply(image)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = op.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def percentile_stretch(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Linearly map the [low, high] luminance percentiles to [0, 255], clipping outside.

    The same lookup table is applied to every channel so colours keep their order. A flat image is
    returned unchanged (there is no contrast to stretch).
    """
    image = check_image(image)
    require(0.0 <= low < high <= 100.0, f"percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")
    lo, hi = np.percentile(to_gray(image), [low, high])
    if hi - lo < 1.0:
        return image.copy()
    lut = np.clip((np.arange(256, dtype=np.float64) - lo) * (255.0 / (hi - lo)), 0, 255)
    return cv2.LUT(image, np.round(lut).astype(np.uint8))


@dataclass(frozen=True)
class Grayscale:
    """Step: convert to gray."""

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        return PreprocessResult(grayscale(image), np.eye(3), (AppliedStep("grayscale"),))


@dataclass(frozen=True)
class Clahe:
    """Step: CLAHE contrast normalisation."""

    clip_limit: float = 2.0
    tile_grid: int = 8

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        out = clahe(image, self.clip_limit, self.tile_grid)
        params = {"clip_limit": self.clip_limit, "tile_grid": self.tile_grid}
        return PreprocessResult(out, np.eye(3), (AppliedStep("clahe", params),))


@dataclass(frozen=True)
class PercentileStretch:
    """Step: percentile contrast stretch."""

    low: float = 1.0
    high: float = 99.0

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        out = percentile_stretch(image, self.low, self.high)
        params = {"low": self.low, "high": self.high}
        return PreprocessResult(out, np.eye(3), (AppliedStep("stretch", params),))
