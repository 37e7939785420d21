"""hOCR writer: XHTML following the hOCR 1.2 spec (ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word).

Each block becomes one ocr_carea holding one ocr_par; boxes are whole page pixels; a line's box is the union
of its words' boxes; word confidence is ``x_wconf`` 0-100; polygons, when known, are given with the ``poly``
property. A page's language (``Page.lang``) is its ocr_page's ``lang`` / ``xml:lang``, and the document's (the
one all pages share) the ``html`` element's; unknown, they are left out. The languages read are listed in the
``ocr-langs`` meta element.

A Document holds no font metrics, so a line's ``baseline``, ``x_size``, ``x_ascenders`` and ``x_descenders``
are measured from its words' boxes by what the words' letters are (``line_metrics``), and left out where the
line's words cannot tell (a line of capitals has no x-height, one without descending letters no descender).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from textlens.document import Box, Document, Line, Page, Polygon, Word, union_box
from textlens.io.write._common import int_box, xml_safe

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"{lang}>
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="textlens"/>
  <meta name="ocr-capabilities" content="{capabilities}"/>
  <meta name="ocr-number-of-pages" content="{pages}"/>{langs}
 </head>
 <body>
"""
_TAIL = " </body>\n</html>\n"
_CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_poly"


def _attr(value: str) -> str:
    return escape(xml_safe(value), quote=True)


def _bbox(box: Box) -> str:
    return "bbox {} {} {} {}".format(*int_box(box))


def _poly(polygon: Polygon | None) -> str:
    if polygon is None:
        return ""
    return "; poly " + " ".join(f"{round(x)} {round(y)}" for x, y in polygon)


def _word(word: Word, wid: str) -> str:
    conf = round(min(max(word.confidence, 0.0), 1.0) * 100)
    title = f"{_bbox(word.box)}{_poly(word.polygon)}; x_wconf {conf}"
    return f"     <span class='ocrx_word' id='{wid}' title='{title}'>{_attr(word.text)}</span>"


# Letters by where they reach in common Latin, Greek and Cyrillic type: below the baseline, above the x-height.
_DESCENDING = frozenset("gjpqyçşţęąģķļņųџдцщруфQ,;()[]{}|@$§µβγζημξρςφχψ")
_SHORT = frozenset("acemnorsuvwxzgpqyçęąłşţñõãåäöüøæœαεικνοπρστυωвгежзийклмнопрстуфхцчшщъыьэюя")
_FLAT = frozenset(".,:;-–—_~'\"")  # marks that reach neither the top of the x-height nor below the baseline


@dataclass(frozen=True)
class LineMetrics:
    """A line's hOCR typography in page pixels, measured from its words' boxes (each ``None`` when unknown):
    ``slope`` and ``intercept`` of the baseline (from the line box's bottom-left corner, hOCR's ``baseline``),
    ``x_size`` (ascender top to descender bottom), ``x_ascenders`` (ascender top to x-height top) and
    ``x_descenders`` (baseline to descender bottom)."""

    slope: float | None = None
    intercept: float | None = None
    x_size: float | None = None
    x_ascenders: float | None = None
    x_descenders: float | None = None


def _baseline_fit(points: list[tuple[float, float]], reach: float) -> tuple[float, float]:
    """Slope and y at x = 0 of a line through points (Theil-Sen: the median slope of the pairs at least
    ``reach`` apart, robust to a word whose box is off); level with fewer than three points, or when the
    slope is steeper than a stray box could make a printed line (0.1, about 6°)."""
    slopes = [
        (y1 - y0) / (x1 - x0) for i, (x0, y0) in enumerate(points) for x1, y1 in points[i + 1 :] if abs(x1 - x0) > reach
    ]
    slope = statistics.median(slopes) if len(points) >= 3 and slopes else 0.0
    slope = slope if abs(slope) <= 0.1 else 0.0
    return slope, statistics.median(y - slope * x for x, y in points)


def line_metrics(line: Line) -> LineMetrics:
    """Estimate a horizontal line's baseline, x-size, ascenders and descenders from its words' boxes.

    Words without a descending letter (no g, p, y, comma, bracket...) end at the baseline: the baseline is
    fitted through their box bottoms (centre x, bottom y). Words of x-height letters only (``use``, ``name``)
    top out at the x-height; words with a capital, a digit or a tall letter (b, d, h, k, l, t) at the ascender
    line; words with a descending letter reach the descender line. Each is the median over the line's words,
    so the values carry the boxes' own margins (the pipeline pads the ink by a tenth of the box height each
    side, which the differences mostly cancel). Turned lines (``textangle``) get no metrics.
    """
    words = [w for w in line.words if any(c.isalnum() for c in w.text)]
    if not words or line.text_angle:
        return LineMetrics()
    flat = [w for w in words if not _DESCENDING.intersection(w.text)]
    deep = [w for w in words if _DESCENDING.intersection(w.text)]
    short = [w for w in words if set(w.text) <= _SHORT | _FLAT and _SHORT.intersection(w.text)]
    tall = [w for w in words if any(c.isalnum() and c not in _SHORT for c in w.text)]
    x0, top_edge, _, bottom = union_box(w.box for w in line.words)
    slope = intercept = baseline_at = None
    if flat:
        points = [((w.box[0] + w.box[2]) / 2, w.box[3]) for w in flat]
        slope, at_zero = _baseline_fit(points, reach=2 * (bottom - top_edge))
        intercept = min(max(at_zero + slope * x0 - bottom, top_edge - bottom), 0.0)
        baseline_at = bottom + intercept

    def along(ws: list[Word], side: int) -> float:
        """The median of a box side, brought to the line's left end along the baseline's slope."""
        return statistics.median(w.box[side] - (slope or 0.0) * ((w.box[0] + w.box[2]) / 2 - x0) for w in ws)

    top = along(tall, 1) if tall else None
    x_top = along(short, 1) if short else None
    descender = along(deep, 3) if deep else None
    ascenders = x_top - top if top is not None and x_top is not None and x_top > top else None
    descenders = descender - baseline_at if descender is not None and baseline_at is not None else None
    size = descender - top if descender is not None and top is not None and descender > top else None
    return LineMetrics(
        slope=slope,
        intercept=intercept,
        x_size=size,
        x_ascenders=ascenders,
        x_descenders=descenders if descenders is not None and descenders > 0 else None,
    )


def _metrics(metrics: LineMetrics) -> str:
    parts = []
    if metrics.slope is not None and metrics.intercept is not None:
        parts.append(f"baseline {metrics.slope:.3f} {round(metrics.intercept)}")
    for name in ("x_size", "x_descenders", "x_ascenders"):
        value = getattr(metrics, name)
        if value is not None:
            parts.append(f"{name} {value:.2f}")
    return "".join(f"; {p}" for p in parts)


def _line(line: Line, lid: str, word_ids: list[str]) -> list[str]:
    box = union_box(w.box for w in line.words) if line.words else line.box
    assert box is not None
    angle = f"; textangle {line.text_angle}" if line.text_angle else ""  # counter-clockwise, as hOCR's
    title = f"{_bbox(box)}{_poly(line.polygon)}{_metrics(line_metrics(line))}{angle}"
    words = [_word(w, wid) for w, wid in zip(line.words, word_ids, strict=True)]
    return [f"    <span class='ocr_line' id='{lid}' title='{title}'>", *words, "    </span>"]


def _lang(code: str | None, quote: str = "'") -> str:
    """The ``lang`` and ``xml:lang`` attributes (XHTML wants both) of a language code, or nothing."""
    if not code:
        return ""
    value = _attr(code)
    return f" lang={quote}{value}{quote} xml:lang={quote}{value}{quote}"


def _page(page: Page, number: int) -> list[str]:
    """XHTML lines for one page; ids are unique over the document (page, block, line, word numbers)."""
    title = f"bbox 0 0 {page.width} {page.height}; ppageno {number - 1}"
    if page.dpi and page.dpi > 0:
        title += f"; scan_res {round(page.dpi)} {round(page.dpi)}"
    if page.source:
        # The image property is a quoted string; double quotes inside it cannot be represented.
        title = f'image "{page.source.replace(chr(34), "")}"; ' + title
    out = [f"  <div class='ocr_page' id='page_{number}' title='{_attr(title)}'{_lang(page.lang)}>"]
    n_line = n_word = 0
    for b, block in enumerate(page.blocks, start=1):
        assert block.box is not None
        out.append(f"   <div class='ocr_carea' id='block_{number}_{b}' title='{_bbox(block.box)}'>")
        out.append(f"   <p class='ocr_par' id='par_{number}_{b}' title='{_bbox(block.box)}'>")
        for line in block.lines:
            n_line += 1
            ids = [f"word_{number}_{n_word + i}" for i in range(1, len(line.words) + 1)]
            n_word += len(line.words)
            out.extend(_line(line, f"line_{number}_{n_line}", ids))
        out.extend(["   </p>", "   </div>"])
    out.append("  </div>")
    return out


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> str:
    """The document as an hOCR (XHTML) string (``images`` is ignored)."""
    title = document.pages[0].source if document.pages and document.pages[0].source else "textlens OCR"
    body = [line for n, page in enumerate(document.pages, start=1) for line in _page(page, n)]
    langs = sorted({p.lang for p in document.pages if p.lang})
    capabilities = _CAPABILITIES + (" ocrp_lang" if langs else "")
    head = _HEAD.format(
        title=_attr(title),
        lang=_lang(document.lang, quote='"'),
        capabilities=capabilities,
        pages=len(document.pages),
        langs=f'\n  <meta name="ocr-langs" content="{_attr(" ".join(langs))}"/>' if langs else "",
    )
    return head + "\n".join(body) + ("\n" if body else "") + _TAIL
