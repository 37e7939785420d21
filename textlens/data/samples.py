"""The typed samples every reader and the synthetic engine yield; training and evaluation share them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textlens.document import Box, Polygon


@dataclass(frozen=True)
class CropSample:
    """A cropped word or line image (RGB uint8, H×W×3) with its transcription."""

    image: np.ndarray
    text: str
    source: str | None = None


@dataclass(frozen=True)
class WordAnnotation:
    """One ground-truth word (or line) on a page; ``ignore`` marks a don't-care region."""

    text: str
    box: Box
    polygon: Polygon | None = None
    ignore: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_dont_care(self) -> bool:
        return self.ignore or self.text == "###"


@dataclass(frozen=True)
class PageSample:
    """A page image (RGB uint8, H×W×3) with its annotated words or lines."""

    image: np.ndarray
    words: tuple[WordAnnotation, ...]
    source: str | None = None


@dataclass(frozen=True)
class LabelSample:
    """An image with one class label (digits, characters)."""

    image: np.ndarray
    label: str
    source: str | None = None
