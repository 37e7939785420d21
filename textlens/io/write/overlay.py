"""Overlay writer: PNG images of each page with word boxes (or polygons) and their text drawn on top.

Boxes are coloured by confidence (green >= 0.9, orange >= 0.6, red below), lightly filled, and the
recognised text is printed by each box, sized by the box's height: above it, else below it, else inside it over
the word, wherever it covers no other label and no other word (``layout_labels``); a label that fits nowhere, or
would be smaller than 7 px, is left out, so dense pages do not turn into a pile of labels. Without a page image
the canvas is white. ``render`` stacks the pages of a multi-page document top to bottom in one PNG; ``write`` (in
textlens.io.write) stores one PNG per page instead.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.document import Document, Page, Word
from textlens.errors import OutputError
from textlens.io.write._common import check_images, find_font_file, page_image_rgb

_FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def confidence_colour(confidence: float) -> tuple[int, int, int]:
    """RGB colour of a word's box: green when sure, orange when doubtful, red when unsure."""
    if confidence >= 0.9:
        return (0, 170, 0)
    if confidence >= 0.6:
        return (255, 140, 0)
    return (220, 0, 0)


@functools.lru_cache(maxsize=16)
def _font(size: int) -> _FontType:
    path = find_font_file()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _outline(word: Word) -> list[tuple[float, float]]:
    if word.polygon is not None:
        return list(word.polygon)
    x0, y0, x1, y1 = word.box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


# Labels: sized by their word's box height, placed where they collide with no other label and no other word's
# box: above the box, else below it, else inside it (the reading over the word, on a white backing, shrunk to the
# box), else not drawn. Dense pages (small type, tight lines) thus show each word's reading in place instead of
# a pile of overlapping labels; sparse ones keep their labels above the boxes.
LABEL_SCALE = 0.45  # label height / word box height above or below a box
INSIDE_SCALE = 0.8  # ... inside a box
MIN_LABEL_PX, MAX_LABEL_PX = 7, 28  # labels smaller than this are not drawn (unreadable)
_GRID = 64  # px, buckets of the collision index


@dataclass(frozen=True)
class Label:
    """Where one word's text is drawn: its word (position in ``page.words``), the text's top-left, the font
    size, the backing rectangle (x0, y0, x1, y1) and whether it sits inside the word's box."""

    word: int
    xy: tuple[float, float]
    size: int
    rect: tuple[float, float, float, float]
    inside: bool


class _Index:
    """Rectangles in grid buckets: does a new one overlap any held (optionally ignoring one owner)?"""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[tuple[float, float, float, float], int]]] = {}

    def _keys(self, rect: tuple[float, float, float, float]) -> Iterator[tuple[int, int]]:
        x0, y0, x1, y1 = rect
        for gx in range(int(x0 // _GRID), int(x1 // _GRID) + 1):
            for gy in range(int(y0 // _GRID), int(y1 // _GRID) + 1):
                yield gx, gy

    def add(self, rect: tuple[float, float, float, float], owner: int) -> None:
        for key in self._keys(rect):
            self.cells.setdefault(key, []).append((rect, owner))

    def hits(self, rect: tuple[float, float, float, float], ignore: int = -1) -> bool:
        x0, y0, x1, y1 = rect
        for key in self._keys(rect):
            for (a0, b0, a1, b1), owner in self.cells.get(key, ()):
                if owner != ignore and x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                    return True
        return False


def _text_rect(
    draw: ImageDraw.ImageDraw, text: str, font: _FontType, x: float, y: float
) -> tuple[float, float, float, float]:
    left, upper, right, lower = draw.textbbox((x, y), text, font=font)
    return (left - 1, upper - 1, right + 1, lower + 1)


def layout_labels(page: Page, draw: ImageDraw.ImageDraw | None = None) -> list[Label]:
    """Where each word's label goes (see the module's rules); words whose label fits nowhere are left out."""
    draw = draw or ImageDraw.Draw(Image.new("RGB", (1, 1)))
    words = page.words
    width, height = max(page.width, 1), max(page.height, 1)
    boxes, labels = _Index(), _Index()
    for i, word in enumerate(words):
        boxes.add(word.box, i)
    out: list[Label] = []
    for i, word in enumerate(words):
        if not word.text.strip():
            continue
        x0, y0, x1, y1 = word.box
        box_h, box_w = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
        size = int(np.clip(LABEL_SCALE * box_h, MIN_LABEL_PX, MAX_LABEL_PX))
        font = _font(size)
        _, upper, _, lower = draw.textbbox((0, 0), word.text, font=font)
        candidates = [(x0, y0 - lower - 2), (x0, y1 + 2 - upper)]  # above, below
        placed = None
        for x, y in candidates:
            rect = _text_rect(draw, word.text, font, x, y)
            inside_page = rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width and rect[3] <= height
            if inside_page and not labels.hits(rect) and not boxes.hits(rect, ignore=i):
                placed = Label(i, (x, y), size, rect, False)
                break
        if placed is None:  # inside the box, shrunk to its width
            size = int(min(INSIDE_SCALE * box_h, MAX_LABEL_PX))
            text_w = draw.textlength(word.text, font=_font(max(size, 1)))
            if text_w > box_w:
                size = int(size * box_w / text_w)
            if size >= MIN_LABEL_PX:
                font = _font(size)
                left, upper, right, lower = draw.textbbox((0, 0), word.text, font=font)
                x = x0 + (box_w - (right - left)) / 2 - left
                y = y0 + (box_h - (lower - upper)) / 2 - upper
                rect = _text_rect(draw, word.text, font, x, y)
                if not labels.hits(rect):
                    placed = Label(i, (x, y), size, rect, True)
        if placed is not None:
            labels.add(placed.rect, i)
            out.append(placed)
    return out


def _draw_box(fill: ImageDraw.ImageDraw, line: ImageDraw.ImageDraw, word: Word, thickness: int) -> None:
    colour = confidence_colour(word.confidence)
    points = _outline(word)
    fill.polygon(points, fill=(*colour, 48))
    line.line([*points, points[0]], fill=(*colour, 255), width=thickness, joint="curve")


def render_page(page: Page, image: np.ndarray | None) -> Image.Image:
    """One page's overlay as an RGB PIL image of the page's pixel size."""
    base = Image.fromarray(page_image_rgb(page, image)).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    boxes = Image.new("RGBA", base.size, (0, 0, 0, 0))
    thickness = max(1, round(min(base.size) / 500))
    fill_draw, line_draw = ImageDraw.Draw(boxes), ImageDraw.Draw(layer)
    words = page.words
    for word in words:
        _draw_box(fill_draw, line_draw, word, thickness)
    for label in layout_labels(page, line_draw):
        word = words[label.word]
        colour = confidence_colour(word.confidence)
        # A white backing keeps the text readable on any background (more opaque over the word itself).
        line_draw.rectangle(label.rect, fill=(255, 255, 255, 225 if label.inside else 200))
        line_draw.text(label.xy, word.text, font=_font(label.size), fill=(*colour, 255))
    return Image.alpha_composite(Image.alpha_composite(base, boxes), layer).convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def stack(pages: Sequence[Image.Image]) -> Image.Image:
    """Page overlays stacked top to bottom in one picture (a single page is just that page)."""
    if len(pages) == 1:
        return pages[0]
    sheet = Image.new("RGB", (max(p.width for p in pages), sum(p.height for p in pages)), (255, 255, 255))
    top = 0
    for page in pages:
        sheet.paste(page, (0, top))
        top += page.height
    return sheet


def render_pages(document: Document, images: Sequence[np.ndarray | None] | None = None) -> list[bytes]:
    """One PNG per page."""
    if not document.pages:
        raise OutputError("the document has no pages to draw")
    page_images = check_images(document, images)
    return [png_bytes(render_page(p, im)) for p, im in zip(document.pages, page_images, strict=True)]


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> bytes:
    """One PNG: the page overlays stacked top to bottom (a single page is just that page)."""
    if not document.pages:
        raise OutputError("the document has no pages to draw")
    page_images = check_images(document, images)
    return png_bytes(stack([render_page(p, im) for p, im in zip(document.pages, page_images, strict=True)]))
