"""Contact sheets: a grid of samples with their labels and boxes drawn, for people to look at a dataset."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.data.samples import CropSample, LabelSample, PageSample
from textlens.io.atomic import atomic_path

Sample = CropSample | PageSample | LabelSample
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_BACKGROUND = (245, 245, 245)
_TEXT = (20, 20, 20)
_WORD_COLOUR = (0, 170, 60)
_IGNORE_COLOUR = (220, 40, 40)
_PAD = 6


@functools.lru_cache(maxsize=64)
def _font_file(charset: str = "") -> str | None:
    """A font file from fontconfig: DejaVu Sans, or the best cover of ``charset`` (hex code points)."""
    pattern = "DejaVu Sans" + (f":charset={charset}" if charset else "")
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found or None


@functools.lru_cache(maxsize=64)
def _load_font(size: int, charset: str = "") -> Font:
    path = _font_file(charset)
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def font_for(text: str, size: int) -> Font:
    """DejaVu Sans, or, for scripts it lacks (Devanagari, Hangul...), a font that covers the text."""
    wide = sorted({f"{ord(c):x}" for c in text if ord(c) > 0x24F})
    return _load_font(size, " ".join(wide[:16]))


def _fit(image: np.ndarray, width: int, height: int) -> Image.Image:
    """Scale an image to fit ``width``×``height`` (nearest neighbour when enlarging: crisp pixels)."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.NEAREST if scale > 2 else Image.Resampling.LANCZOS
    return Image.fromarray(image).resize(size, resample)


def _draw_words(tile: Image.Image, page: PageSample) -> None:
    scale = tile.width / page.image.shape[1]
    draw = ImageDraw.Draw(tile)
    for word in page.words:
        colour = _IGNORE_COLOUR if word.is_dont_care else _WORD_COLOUR
        if word.polygon is not None:
            draw.polygon([(x * scale, y * scale) for x, y in word.polygon], outline=colour)
        else:
            x0, y0, x1, y1 = (v * scale for v in word.box)
            draw.rectangle((x0, y0, max(x0, x1), max(y0, y1)), outline=colour)


def caption(sample: Sample) -> str:
    if isinstance(sample, CropSample):
        return sample.text
    if isinstance(sample, LabelSample):
        return sample.label
    ignored = sum(w.is_dont_care for w in sample.words)
    return f"{len(sample.words)} words" + (f" ({ignored} ignored)" if ignored else "")


def _truncate(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(items: Sequence[Sample], cols: int = 6, cell_width: int = 192, font_size: int = 14) -> np.ndarray:
    """A grid of samples (RGB uint8): crops and labels with their text below, pages with word boxes drawn."""
    if not items:
        raise ValueError("contact_sheet needs at least one sample")
    cols = max(1, min(cols, len(items)))
    rows = -(-len(items) // cols)
    all_crops = all(isinstance(s, CropSample) for s in items)
    image_height = cell_width // 3 if all_crops else cell_width  # word crops are wide and short
    cell_height = image_height + font_size + 3 * _PAD
    sheet = Image.new("RGB", (cols * cell_width, rows * cell_height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for index, sample in enumerate(items):
        left, top = (index % cols) * cell_width, (index // cols) * cell_height
        tile = _fit(sample.image, cell_width - 2 * _PAD, image_height)
        if isinstance(sample, PageSample):
            _draw_words(tile, sample)
        offset = ((cell_width - tile.width) // 2, _PAD + (image_height - tile.height) // 2)
        sheet.paste(tile, (left + offset[0], top + offset[1]))
        text = caption(sample)
        font = font_for(text, font_size)
        text = _truncate(draw, text, font, cell_width - 2 * _PAD)
        draw.text((left + _PAD, top + image_height + 2 * _PAD), text, fill=_TEXT, font=font)
    return np.asarray(sheet)


def save_image_atomic(image: np.ndarray, path: str | Path) -> Path:
    """Write an image (format from the suffix) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp)
    return path
