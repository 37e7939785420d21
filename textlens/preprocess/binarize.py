"""Binarisation: global Otsu, local Sauvola and adaptive Gaussian thresholds.

Outputs are H x W uint8 images with text black (0) on white (255), the usual OCR input. `text_mask`
is the analysis helper the geometric steps use to find ink.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from textlens.preprocess.base import WHITE, AppliedStep, PreprocessResult, require, to_gray

BinarizeMethod = Literal["otsu", "sauvola", "adaptive"]
METHODS: tuple[str, ...] = ("otsu", "sauvola", "adaptive")

# Below this gray-level spread a page is treated as blank: Otsu would split pure noise.
MIN_CONTRAST = 24


def otsu(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Global Otsu threshold; returns the binary image and the chosen threshold."""
    gray = to_gray(image)
    threshold, out = cv2.threshold(gray, 0, WHITE, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out, float(threshold)


def sauvola(image: np.ndarray, window: int = 31, k: float = 0.2, r: float = 128.0) -> np.ndarray:
    """Sauvola local threshold T = m * (1 + k * (s / R - 1)) over a window x window neighbourhood.

    Local mean m and standard deviation s come from box filters (integral-image sums), so the cost
    does not depend on the window size.
    """
    require(window >= 3 and window % 2 == 1, f"Sauvola window must be odd and >= 3, got {window}")
    require(r > 0, f"Sauvola R must be > 0, got {r}")
    gray = to_gray(image)
    # float64 keeps E[x^2] - E[x]^2 exact enough on large pages.
    mean = cv2.boxFilter(gray, cv2.CV_64F, (window, window), borderType=cv2.BORDER_REFLECT)
    sq_mean = cv2.sqrBoxFilter(gray, cv2.CV_64F, (window, window), borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(sq_mean - mean * mean, 0.0))
    threshold = mean * (1.0 + k * (std / r - 1.0))
    return np.where(gray > threshold, WHITE, 0).astype(np.uint8)


def adaptive_gaussian(image: np.ndarray, block_size: int = 31, c: float = 10.0) -> np.ndarray:
    """OpenCV adaptive threshold against a Gaussian-weighted local mean minus ``c``."""
    require(block_size >= 3 and block_size % 2 == 1, f"block_size must be odd and >= 3, got {block_size}")
    gray = to_gray(image)
    return cv2.adaptiveThreshold(gray, WHITE, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block_size, float(c))


def text_mask(image: np.ndarray) -> np.ndarray:
    """Ink mask (uint8, 255 = ink) for layout analysis; all zero on a blank page.

    Uses Otsu and assumes ink is the minority class, so light-on-dark pages are handled too.
    """
    gray = to_gray(image)
    lo, hi = int(gray.min()), int(gray.max())
    if hi - lo < MIN_CONTRAST:
        return np.zeros_like(gray)
    _, mask = cv2.threshold(gray, 0, WHITE, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if cv2.countNonZero(mask) > mask.size // 2:
        mask = cv2.bitwise_not(mask)
    return mask


@dataclass(frozen=True)
class Binarize:
    """Step: binarise with the named method (otsu, sauvola or adaptive)."""

    method: BinarizeMethod = "otsu"
    window: int = 31
    k: float = 0.2
    r: float = 128.0
    c: float = 10.0

    def __post_init__(self) -> None:
        require(self.method in METHODS, f"unknown binarisation method {self.method!r}; use one of {METHODS}")

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        if self.method == "otsu":
            out, threshold = otsu(image)
            params: dict[str, object] = {"method": "otsu", "threshold": threshold}
        elif self.method == "sauvola":
            out = sauvola(image, self.window, self.k, self.r)
            params = {"method": "sauvola", "window": self.window, "k": self.k, "R": self.r}
        else:
            out = adaptive_gaussian(image, self.window, self.c)
            params = {"method": "adaptive", "window": self.window, "C": self.c}
        return PreprocessResult(out, np.eye(3), (AppliedStep("binarize", params),))
