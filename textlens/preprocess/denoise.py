"""Noise removal: non-local means, median or bilateral filtering (identity transform)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from textlens.preprocess.base import AppliedStep, PreprocessResult, check_image, require

DenoiseMethod = Literal["nlmeans", "median", "bilateral"]
METHODS: tuple[str, ...] = ("nlmeans", "median", "bilateral")
DEFAULT_STRENGTH: dict[str, float] = {"nlmeans": 10.0, "median": 3, "bilateral": 50.0}


def denoise(image: np.ndarray, method: DenoiseMethod = "nlmeans", strength: float | None = None) -> np.ndarray:
    """Denoise a gray or RGB image; shape and dtype are kept.

    ``strength`` is the filter strength h for non-local means, the aperture (odd, >= 3) for median,
    and sigmaColor for bilateral filtering; None picks the method's default.
    """
    image = check_image(image)
    require(method in METHODS, f"unknown denoise method {method!r}; use one of {METHODS}")
    strength = DEFAULT_STRENGTH[method] if strength is None else strength
    require(strength > 0, f"denoise strength must be > 0, got {strength}")
    if method == "nlmeans":
        if image.ndim == 2:
            return cv2.fastNlMeansDenoising(image, None, h=float(strength))
        return cv2.fastNlMeansDenoisingColored(image, None, float(strength), float(strength))
    if method == "median":
        aperture = int(strength)
        require(aperture >= 3 and aperture % 2 == 1, f"median aperture must be odd and >= 3, got {strength}")
        return cv2.medianBlur(image, aperture)
    return cv2.bilateralFilter(image, d=7, sigmaColor=float(strength), sigmaSpace=7.0)


@dataclass(frozen=True)
class Denoise:
    """Step: denoise with the named method."""

    method: DenoiseMethod = "nlmeans"
    strength: float | None = None

    def __post_init__(self) -> None:
        require(self.method in METHODS, f"unknown denoise method {self.method!r}; use one of {METHODS}")

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        out = denoise(image, self.method, self.strength)
        params = {"method": self.method, "strength": self.strength}
        return PreprocessResult(out, np.eye(3), (AppliedStep("denoise", params),))
