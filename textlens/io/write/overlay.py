"""Overlay writer: PNG images of each page with word boxes (or polygons) and their text drawn on top.

Boxes are coloured by confidence (green >= 0.9, orange >= 0.6, red below), lightly filled, and the
recognised text is printed small just above each box. Without a page image the canvas is white.
``render`` stacks the pages of a multi-page document top to bottom in one PNG; ``write`` (in
textlens.io.write) stores one PNG per page instead.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

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


def _draw_word(
    fill: ImageDraw.ImageDraw, line: ImageDraw.ImageDraw, word: Word, thickness: int, page_height: int
) -> None:
    colour = confidence_colour(word.confidence)
    points = _outline(word)
    fill.polygon(points, fill=(*colour, 48))
    line.line([*points, points[0]], fill=(*colour, 255), width=thickness, joint="curve")
    size = int(np.clip(0.45 * (word.box[3] - word.box[1]), 10, 28))
    font = _font(size)
    x, top = word.box[0], word.box[1]
    left, upper, right, lower = line.textbbox((0, 0), word.text, font=font)
    # Above the box when there is room (the text's bottom 2 px over the box), else just below it.
    y = top - lower - 2 if top - lower - 2 + upper >= 0 else min(word.box[3] + 2 - upper, page_height - 1)
    # A white label behind the text keeps it readable on any background.
    line.rectangle((x + left - 1, y + upper - 1, x + right + 1, y + lower + 1), fill=(255, 255, 255, 200))
    line.text((x, y), word.text, font=font, fill=(*colour, 255))


def render_page(page: Page, image: np.ndarray | None) -> Image.Image:
    """One page's overlay as an RGB PIL image of the page's pixel size."""
    base = Image.fromarray(page_image_rgb(page, image)).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    boxes = Image.new("RGBA", base.size, (0, 0, 0, 0))
    thickness = max(1, round(min(base.size) / 500))
    fill_draw, line_draw = ImageDraw.Draw(boxes), ImageDraw.Draw(layer)
    for word in page.words:
        _draw_word(fill_draw, line_draw, word, thickness, base.size[1])
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
