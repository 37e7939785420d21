"""Recognition input: region → rectified crop → fixed-height, aspect-kept, normalised array; batches padded
by width.

Training and inference both call these functions, so a model sees the same pixels in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from textlens.errors import ConfigError
from textlens.geometry import order_quad

POLARITIES = ("as_is", "dark_text")


@dataclass(frozen=True)
class CropSpec:
    """How a recogniser wants its input (stored in the model's config.json under "input")."""

    height: int = 32
    channels: int = 1
    mean: float = 0.5
    std: float = 0.5
    min_width: int = 16
    max_width: int = 1024
    width_multiple: int = 4
    # "as_is", or "dark_text": crops whose background is darker than their text are inverted first
    # (``text_is_light``), so the model reads every crop as dark text on a light ground.
    polarity: str = "as_is"

    def __post_init__(self) -> None:
        if self.polarity not in POLARITIES:
            raise ConfigError(f"input polarity must be one of {', '.join(POLARITIES)}, got {self.polarity!r}")

    @classmethod
    def from_config(cls, config: dict) -> CropSpec:
        known = {k: config[k] for k in cls.__dataclass_fields__ if k in config}
        return cls(**known)

    def to_config(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def crop_quad(image: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rectify a text region to an upright crop; returns the crop and the ordered quad it came from."""
    quad = order_quad(polygon)
    width = round(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    height = round(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, quad


TRIM_MIN_HEIGHT = 8  # pixels: smaller crops have no margin worth trimming
TRIM_MIN_CONTRAST = 12.0  # grey-level standard deviation below which a crop shows no clear ink


def target_width(shape: tuple[int, ...], spec: CropSpec) -> int:
    """The width a crop of ``shape`` is resized to: aspect kept, rounded up to the width multiple."""
    h, w = shape[0], shape[1]
    width = round(w * spec.height / max(h, 1))
    width = max(spec.min_width, min(spec.max_width, width))
    m = spec.width_multiple
    return (width + m - 1) // m * m


def prepare_crop(image: np.ndarray, spec: CropSpec) -> np.ndarray:
    """One crop (H×W×3 RGB or H×W gray, uint8) → float32 C×height×width, normalised."""
    if image.ndim == 2:
        image = image[:, :, None]
    if spec.channels == 1 and image.shape[2] != 1:
        image = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)[:, :, None]
    elif spec.channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    width = target_width(image.shape, spec)
    interp = cv2.INTER_AREA if image.shape[0] > spec.height else cv2.INTER_LINEAR
    resized = cv2.resize(image, (width, spec.height), interpolation=interp)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    if spec.polarity == "dark_text" and text_is_light(resized):
        resized = 255 - resized
    arr = resized.astype(np.float32).transpose(2, 0, 1) / 255.0
    return (arr - spec.mean) / spec.std


# A crop's text is light when more than this share of its border ring (POLARITY_RING px wide at the model's
# height) falls in the darker of the two Otsu classes. Measured with crnn_small reading ic13, ic03 and the
# held-out FUNSD word / SROIE line crops as they are and inverted: thresholds 0.4-0.7 all gained 2-3 points
# ci-alnum on ic13/ic03 (about half their crops are light text); from 0.7 no document crop changed (lower
# ones inverted a few FUNSD words framed by black fax borders).
POLARITY_BORDER_DARK = 0.7
POLARITY_RING = 4


def border_pixels(image: np.ndarray, width: int = 1) -> np.ndarray:
    """The pixels of an image's border ring ``width`` px wide, as an N×C array (corners counted twice)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    sides = (image[:width], image[-width:], image[:, :width], image[:, -width:])
    return np.concatenate([side.reshape(-1, channels) for side in sides])


def text_is_light(image: np.ndarray) -> bool:
    """Whether a resized crop (H×W×C uint8) shows light text on a darker background."""
    gray = image[:, :, 0] if image.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ring = min(POLARITY_RING, max(1, min(binary.shape) // 4))
    return float(np.mean(border_pixels(binary, ring) == 0)) > POLARITY_BORDER_DARK


# Second look (``OnnxRecognizer``): a crop read with low confidence is read again framed by this share of its
# height of its own border pixels. Scene word crops are often cut tight to the ink, tighter than any training
# crop; ic03's 860 crops read 77.9 % as they are and 81.2 % padded by 1/8 (1/4: 77.8 %).
SECOND_LOOK_PAD = 1 / 8


def second_look_variants(crop: np.ndarray) -> list[np.ndarray]:
    """Other views of a crop for a second reading: inverted, and padded by ``SECOND_LOOK_PAD`` × its height.

    For a ``dark_text`` model the inverted crop only differs where the polarity rule's border test is
    undecided (the rule turns clear cases back), which is where it can be wrong.
    """
    pad = max(1, round(crop.shape[0] * SECOND_LOOK_PAD))
    padded = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return [255 - crop, padded]


# A crop this many times taller than wide is also read turned by 90° either way: vertical text (FUNSD's
# document numbers printed up the page margin: 19 held-out word crops over 2 × as tall as wide, none read
# right upright, 17 right turned; ic13 / ic03 / SROIE crops over 1.5 × are single letters and digits, which
# keep their upright reading).
TALL_CROP_RATIO = 1.5
# A turned reading counts only with this many characters: turned, a lone mark or letter of a tall crop
# ("|", "8", "N") reads as another one ("-", "33", "22") with confidence (held-out FUNSD pages: 9 such
# words appeared or changed for 6 vertical numbers gained; with 3 characters the 6 stay and none of them).
TURNED_MIN_CHARS = 3


def turned_views(crop: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """A crop turned clockwise by 90° and by 270°, each with its angle: text running down or up the page."""
    return [(90, np.ascontiguousarray(np.rot90(crop, -1))), (270, np.ascontiguousarray(np.rot90(crop, 1)))]


def pad_batch(arrays: Sequence[np.ndarray], spec: CropSpec, width: int | None = None) -> np.ndarray:
    """Stack prepared crops into N×C×H×W, right-padding each with the normalised background (white)."""
    width = width or max(a.shape[2] for a in arrays)
    pad_value = (1.0 - spec.mean) / spec.std
    batch = np.full((len(arrays), spec.channels, spec.height, width), pad_value, dtype=np.float32)
    for i, arr in enumerate(arrays):
        batch[i, :, :, : arr.shape[2]] = arr[:, :, :width]
    return batch


def width_buckets(
    widths: Sequence[int], max_batch: int = 64, max_pixels: int = 64 * 32 * 512, max_growth: float = 1.15
) -> list[list[int]]:
    """Group crop indices of similar width into batches (sorted by width) to minimise padding.

    A batch also closes when a crop is more than ``max_growth`` times as wide as the batch's narrowest:
    a recurrent model reads right-padding as input, and on ic13 batches of 16 arbitrary crops scored
    1.4 points below one crop per call; with this limit they score the same (and run faster).
    """
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Widths only grow within a batch, so the current crop's width bounds the padded size.
        if current and (
            len(current) >= max_batch
            or (len(current) + 1) * widths[i] * 32 > max_pixels
            or widths[i] > widths[current[0]] * max_growth
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """1 where a grey patch has ink, else 0: the Otsu class in the minority (dark or light text alike)."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return 1 - ink if ink.mean() > 0.5 else ink


def ink_row_span(gray: np.ndarray, min_row_share: float = 0.03) -> tuple[int, int] | None:
    """(top, bottom) of a grey crop's ink rows (a row counts with ``min_row_share`` of the fullest row's ink)."""
    rows = ink_mask(gray).sum(axis=1)
    inked = np.flatnonzero(rows >= max(min_row_share * rows.max(), 1))
    return (int(inked[0]), int(inked[-1]) + 1) if inked.size else None


def trim_rows_to_ink(crop: np.ndarray, margin: float = 0.15, min_row_share: float = 0.03) -> np.ndarray:
    """``crop`` (H×W[×C] uint8) cut down to its rows of ink plus ``margin`` × the ink height above and below.

    Detectors frame lines loosely, and the recognisers read lower case as capitals in loose frames
    (``recipes/case_probe.py``, bundled crnn_fast, 300 clean phrases: 95.7 % exact at a margin of 0.05 text
    heights, 74 / 64 / 56 % at 0.2 / 0.4 / 0.6; trimmed to 0.15 first: 76 / 80 / 80 %). A margin of 0.05
    fixed the probe (94 %) but cost real pages (held-out SROIE line e2e 0.681 → 0.632); 0.15 left them as
    they were (FUNSD word e2e 0.773 → 0.772, page CER 10.7 → 10.6 %; SROIE e2e 0.681 → 0.682). Ink is the
    Otsu minority; a row counts when it holds at least ``min_row_share`` of the fullest row's ink. Crops
    without clear ink (flat, or ink everywhere) and crops that would lose less than 15 % of their height
    are returned unchanged.
    """
    gray = crop if crop.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    height = gray.shape[0]
    if height < TRIM_MIN_HEIGHT or gray.shape[1] < 2 or float(gray.std()) < TRIM_MIN_CONTRAST:
        return crop
    span = ink_row_span(gray, min_row_share)
    if span is None:
        return crop
    top, bottom = span
    pad = round(margin * (bottom - top))
    top, bottom = max(top - pad, 0), min(bottom + pad, height)
    if bottom - top > 0.85 * height:
        return crop
    return crop[top:bottom]
