"""The two seams of the pipeline: a Detector finds text regions, a Recognizer reads crops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Detection:
    """A detected text region: a polygon (N×2, clockwise from top-left, page pixels) and a score.

    ``line`` (optional) groups regions into text lines: a line detector may cut a line at wide gaps into
    regions read one by one, and regions with the same ``line`` number become one line of the page.
    ``curve`` (optional): for a curved region, its band of 2N points (N along the top edge left to right, then N
    along the bottom edge right to left; ``textlens.runtime.curved``), read rectified along it; ``polygon`` then
    stays the region's minimum-area quad. ``letters`` (optional): for a column of stacked upright letters (a vertical
    sign; ``textlens.runtime.vertical``), its letters' boxes (K×4, top to bottom), read laid side by side.
    ``underscores`` (optional): where underscores were seen between the words this region joins
    (``textlens.runtime.underscores``), as fractions of its width; the reading keeps an underscore there.
    """

    polygon: np.ndarray
    score: float
    line: int | None = None
    curve: np.ndarray | None = None
    letters: np.ndarray | None = None
    underscores: tuple[float, ...] = ()

    @property
    def box(self) -> tuple[float, float, float, float]:
        xs, ys = self.polygon[:, 0], self.polygon[:, 1]
        return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


@dataclass(frozen=True)
class Recognition:
    """A read crop: text, mean confidence, and per-character confidences and x positions.

    ``char_x`` holds each character's horizontal centre as a fraction [0, 1] of the crop width (from
    the CTC alignment), so a line can be split into words with boxes. ``turned_cw`` (0, 90, 180 or 270): the
    crop was read turned clockwise by so many degrees (vertical text), and ``char_x`` runs along the turned
    crop's width.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    char_x: tuple[float, ...] = field(default=())
    turned_cw: int = 0


@runtime_checkable
class Detector(Protocol):
    """Finds text regions. An optional ``level`` attribute ("word" or "line", default "word") tells the
    pipeline whether a region is a whole line, to keep as one, or a word to group into lines."""

    name: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Find text regions in an RGB uint8 page."""
        ...


@runtime_checkable
class Recognizer(Protocol):
    name: str

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """Read each RGB uint8 crop as one line of text."""
        ...
