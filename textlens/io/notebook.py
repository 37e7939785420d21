"""What a Document's and a Page's convenience methods do: export to str/bytes, page images loaded on demand,
matplotlib figures (``show``) and the pictures Jupyter shows (``_repr_png_``, ``_repr_html_``).

Pixels are never kept with a Document: ``OCR.read`` gives each Page a :class:`SourcePage`, a reference to its
input (a path, the input's bytes, the caller's array or PIL image) and the page's position, which loads the
page again when a picture or a searchable PDF needs it. A 300-page PDF read from a path holds no pixels and no
bytes; one read from bytes or a file object holds those bytes once (shared by its pages). matplotlib is
optional (the ``viz`` extra) and imported only by ``show``.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textlens.document import Document, Page
from textlens.errors import OutputError, TextlensError
from textlens.io.write import render
from textlens.io.write._common import check_images, page_image_rgb

# Pictures for notebooks are scaled down to this long side (a 300 dpi A4 page is 3508 px high).
PREVIEW_LONG_SIDE = 1400
# Pages drawn by a Document's _repr_html_ (the rest are counted, not drawn: a long PDF would take minutes).
PREVIEW_PAGES = 3
MATPLOTLIB_HINT = "pip install 'textlens[viz]' (or pip install matplotlib)"


@dataclass(frozen=True)
class SourcePage:
    """Page ``index`` of ``source``, loaded again (RGB uint8) each time it is called; holds no pixels itself
    (only the caller's own array or PIL image when that was the input)."""

    source: Any
    index: int
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> np.ndarray:
        from textlens.io.load import iter_pages

        options = {k: v for k, v in self.options.items() if k not in ("pages", "first_page_only")}
        pages = iter_pages(self.source, pages=[self.index], **options)
        try:
            for page in pages:
                return page.image
        finally:
            pages.close()
        raise OutputError(f"page {self.index + 1} is no longer in its input")


def _image(page: Page, given: Any = None) -> np.ndarray | None:
    return given if given is not None else page.load_image()


def export(
    document: Document, fmt: str, images: Sequence[Any] | None = None, *, dehyphenate: bool = True
) -> str | bytes:
    """``document`` in ``fmt`` (see ``Document.export``): str for text formats, bytes for ``pdf`` and ``overlay``."""
    if fmt not in ("pdf", "overlay"):
        return render(document, fmt, dehyphenate=dehyphenate)  # a ConfigError names the formats for a wrong one
    if not document.pages:
        raise OutputError(f"the document has no pages; {fmt} needs at least one")
    given = check_images(document, images)
    if fmt == "pdf":
        from textlens.io.write.pdf import PdfWriter, document_title

        out = io.BytesIO()
        writer = PdfWriter(out)
        for page, image in zip(document.pages, given, strict=True):
            writer.add_page(page, _image(page, image))  # one page's pixels at a time
        writer.finish(document_title(document), document.lang)
        return out.getvalue()
    from textlens.io.write.overlay import png_bytes, render_page, stack

    return png_bytes(stack([render_page(p, _image(p, im)) for p, im in zip(document.pages, given, strict=True)]))


def _preview(page: Page, image: Any = None, long_side: int = PREVIEW_LONG_SIDE) -> Any:
    """The page's overlay (textlens.io.write.overlay) as a PIL image, scaled down to ``long_side``; drawn on
    white when its image cannot be loaded again (the input moved or changed)."""
    from textlens.io.write.overlay import render_page

    try:
        pixels = _image(page, image)
    except TextlensError:
        pixels = None
    picture = render_page(page, pixels)
    scale = long_side / max(picture.size)
    if scale < 1:
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    return picture


def page_png(page: Page, image: Any = None, long_side: int = PREVIEW_LONG_SIDE) -> bytes:
    """PNG bytes of the page's overlay, at most ``long_side`` pixels on its long side (``Page._repr_png_``)."""
    from textlens.io.write.overlay import png_bytes

    return png_bytes(_preview(page, image, long_side))


def pages_html(pages: Sequence[Page], metadata: dict[str, Any] | None = None, limit: int = PREVIEW_PAGES) -> str:
    """HTML for Jupyter: the first ``limit`` pages' overlays with a caption each, and the text folded away."""
    parts = ["<div class='textlens-document'>"]
    if metadata and len(pages) != 1:
        engine = ", ".join(f"{k}: {metadata[k]}" for k in ("detector", "recognizer") if k in metadata)
        label = f"{len(pages)} pages" + (f" · {engine}" if engine else "")
        parts.append(f"<p><b>{html.escape(label)}</b></p>")
    for page in pages[:limit]:
        data = base64.b64encode(page_png(page)).decode("ascii")
        words = page.words
        caption = (
            f"page {page.index + 1} · {page.width}×{page.height} px · {len(words)} words"
            + (f" · mean confidence {page.confidence:.2f}" if words else "")
            + (f" · {html.escape(page.source)}" if page.source else "")
        )
        parts.append(
            f"<figure style='margin:0 0 1em 0'><img src='data:image/png;base64,{data}' style='max-width:100%'/>"
            f"<figcaption>{caption}</figcaption></figure>"
        )
        if page.text:
            parts.append(f"<details><summary>text</summary><pre>{html.escape(page.text)}</pre></details>")
    if len(pages) > limit:
        parts.append(f"<p>… {len(pages) - limit} more pages (document.pages[i] shows one)</p>")
    parts.append("</div>")
    return "".join(parts)


def _pyplot() -> Any:
    try:
        from matplotlib import pyplot
    except ImportError as exc:
        raise ImportError(f"show() draws with matplotlib, which is not installed: {MATPLOTLIB_HINT}") from exc
    return pyplot


def show_page(
    page: Page,
    image: Any = None,
    *,
    text: bool = True,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
) -> Any:
    """A matplotlib figure of the page: its image (white when it has none), each word's box or polygon
    coloured by confidence (green ≥ 0.9, orange ≥ 0.6, red below) and, with ``text``, the words over their
    boxes. Draws into ``ax`` when given; returns the figure (``plt.show()`` shows it outside notebooks)."""
    plt = _pyplot()
    from matplotlib.patches import Polygon as PolygonPatch

    from textlens.io.write.overlay import confidence_colour, layout_labels

    pixels = page_image_rgb(page, _image(page, image))
    height, width = pixels.shape[:2]
    if ax is None:
        long_in = 10.0
        wide = width >= height
        size = figsize or ((long_in, long_in * height / width) if wide else (long_in * width / height, long_in))
        figure, ax = plt.subplots(figsize=size)
    else:
        figure = ax.figure
    ax.imshow(pixels)
    ax.set_axis_off()
    ax.set_title(f"page {page.index + 1} · {len(page.words)} words", fontsize=9)
    # Points per page pixel, to size each word's label like its box.
    points_per_pixel = figure.get_size_inches()[1] * 72.0 / max(height, 1) * ax.get_position().height
    words = page.words
    for word in words:
        colour = tuple(c / 255 for c in confidence_colour(word.confidence))
        x0, y0, x1, y1 = word.box
        outline = list(word.polygon) if word.polygon is not None else [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        ax.add_patch(PolygonPatch(outline, closed=True, fill=True, facecolor=(*colour, 0.15), edgecolor=colour, lw=1))
    if text:  # where the overlay puts them: beside the box, else inside it, never over another label or word
        for label in layout_labels(page):
            word = words[label.word]
            colour = tuple(c / 255 for c in confidence_colour(word.confidence))
            x0, y0, x1, y1 = label.rect
            ax.text(
                x0 + 1, y0 + 1, word.text, fontsize=max(label.size * points_per_pixel, 1.0), color=colour,
                va="top", ha="left", bbox={"facecolor": "white", "alpha": 0.8, "pad": 0.3, "linewidth": 0},
            )  # fmt: skip
    return figure


def show_document(document: Document, *, pages: Sequence[int] | None = None, **options: Any) -> list[Any]:
    """One figure per page (``pages``: 0-based positions in ``document.pages``; default all)."""
    chosen = range(len(document.pages)) if pages is None else pages
    return [show_page(document.pages[i], **options) for i in chosen]
