"""Helpers shared by the output writers: XML-safe text, integer boxes, page images and page size."""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from textlens.document import Box, Document, Page
from textlens.errors import OutputError

# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

DEFAULT_DPI = 300.0  # assumed resolution of a page whose DPI is unknown (a typical scan)
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


def xml_safe(text: str) -> str:
    """Text with characters that XML 1.0 cannot carry removed (escaping is the serializer's job)."""
    return _XML_INVALID.sub("", text)


def int_box(box: Box) -> tuple[int, int, int, int]:
    """A float box widened to whole pixels (floor the top-left, ceil the bottom-right)."""
    x0, y0, x1, y1 = box
    return (math.floor(x0), math.floor(y0), max(math.ceil(x1), math.floor(x0)), max(math.ceil(y1), math.floor(y0)))


def unicode_safe(text: str) -> str:
    """``text`` with the lone surrogates Python uses for undecodable bytes (a non-UTF-8 file name read
    through ``os.fsdecode``) replaced by U+FFFD, so it can be stored as UTF-8 or UTF-16."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def page_dpi(page: Page) -> float:
    """The page's resolution, or DEFAULT_DPI when unknown or nonsensical."""
    return page.dpi if page.dpi and page.dpi > 0 else DEFAULT_DPI


def check_images(document: Document, images: Sequence[np.ndarray | None] | None) -> list[np.ndarray | None]:
    """One entry per page (None where no image was given); raises OutputError on a count mismatch."""
    if images is None:
        return [None] * len(document.pages)
    images = list(images)
    if len(images) != len(document.pages):
        raise OutputError(f"got {len(images)} page images for a document of {len(document.pages)} pages")
    return images


def page_image_rgb(page: Page, image: np.ndarray | None) -> np.ndarray:
    """The page image as RGB uint8 at the page's pixel size (white when there is none).

    Images are RGB (as textlens.io.load returns them), grey (H×W) or RGBA. The original image of a page
    read turned (``page.rotation``) is turned the same way; an image of another size than the page is
    stretched onto it, because word boxes are in page pixels.
    """
    width, height = max(page.width, 1), max(page.height, 1)
    if image is None:
        return np.full((height, width, 3), 255, np.uint8)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif arr.ndim != 3 or arr.shape[2] != 3:
        raise OutputError(f"page {page.index}: image of shape {arr.shape} is not grey, RGB or RGBA")
    if page.rotation % 360 and arr.shape[:2] != (height, width):
        # The page was turned upright before reading; its boxes are in the turned image's pixels.
        arr = np.rot90(arr, -((page.rotation // 90) % 4))
    if arr.shape[:2] != (height, width):
        arr = cv2.resize(arr, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(arr)


@functools.lru_cache(maxsize=1)
def find_font_file() -> str | None:
    """A TrueType font file with wide Unicode coverage (DejaVu Sans preferred), or None."""
    candidates: list[str] = []
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", "DejaVuSans"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
            candidates.append(found)
        except (OSError, subprocess.SubprocessError):
            pass
    candidates.extend(_FONT_CANDIDATES)
    return next((c for c in candidates if c.lower().endswith(".ttf") and Path(c).is_file()), None)
