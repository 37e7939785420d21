"""Composition of preprocessing steps into one transform-tracking pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textlens.preprocess.base import PreprocessResult, Step, check_image, require
from textlens.preprocess.binarize import METHODS as BINARIZE_METHODS
from textlens.preprocess.binarize import Binarize
from textlens.preprocess.color import Clahe, Grayscale
from textlens.preprocess.denoise import Denoise
from textlens.preprocess.geometry import CropMargins, Deskew, RescaleTextHeight


@dataclass(frozen=True)
class Compose:
    """Run steps in order; the result's transform is the product of the steps' transforms.

    ``result.transform`` maps original page coordinates to output coordinates, so
    ``result.boxes_to_original(boxes)`` brings boxes found on the output back to the page.
    """

    steps: tuple[Step, ...] = ()

    def __call__(self, image: np.ndarray) -> PreprocessResult:
        current = check_image(image)
        transform = np.eye(3)
        applied = []
        for step in self.steps:
            result = step(current)
            current = result.image
            transform = result.transform @ transform
            applied.extend(result.applied)
        return PreprocessResult(current, transform, tuple(applied))

    def __len__(self) -> int:
        return len(self.steps)


Preprocessor = Compose


def from_options(
    deskew: bool = False,
    binarize: str | None = None,
    denoise: bool = False,
    clahe: bool = False,
    grayscale: bool = False,
    crop: bool = False,
    target_height: int | None = None,
) -> Compose:
    """Build the standard pipeline from flags.

    Order: grayscale -> denoise -> CLAHE -> deskew -> crop -> rescale -> binarise. Denoising comes
    first to work on the original noise; binarisation comes last because resampling (rotation,
    rescale) would turn a binary image gray again.
    """
    require(
        binarize is None or binarize in BINARIZE_METHODS,
        f"unknown binarisation method {binarize!r}; use one of {BINARIZE_METHODS}",
    )
    require(target_height is None or target_height > 0, f"target height must be > 0, got {target_height}")
    steps: list[Step] = []
    if grayscale:
        steps.append(Grayscale())
    if denoise:
        steps.append(Denoise())
    if clahe:
        steps.append(Clahe())
    if deskew:
        steps.append(Deskew())
    if crop:
        steps.append(CropMargins())
    if target_height is not None:
        steps.append(RescaleTextHeight(float(target_height)))
    if binarize is not None:
        steps.append(Binarize(binarize))  # type: ignore[arg-type]
    return Compose(tuple(steps))
