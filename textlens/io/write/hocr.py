"""hOCR writer: XHTML following the hOCR 1.2 spec (ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word).

Each block becomes one ocr_carea holding one ocr_par; boxes are whole page pixels; word confidence
is ``x_wconf`` 0-100; polygons, when known, are given with the ``poly`` property. A page's language
(``Page.lang``) is its ocr_page's ``lang`` / ``xml:lang``, and the document's (the one all pages share) the
``html`` element's; unknown, they are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

from textlens.document import Box, Document, Line, Page, Polygon, Word
from textlens.io.write._common import int_box, xml_safe

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"{lang}>
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="textlens"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_poly"/>
 </head>
 <body>
"""
_TAIL = " </body>\n</html>\n"


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


def _line(line: Line, lid: str, word_ids: list[str]) -> list[str]:
    assert line.box is not None
    angle = f"; textangle {line.text_angle}" if line.text_angle else ""  # counter-clockwise, as hOCR's
    title = f"{_bbox(line.box)}{_poly(line.polygon)}{angle}"
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
    head = _HEAD.format(title=_attr(title), lang=_lang(document.lang, quote='"'))
    return head + "\n".join(body) + ("\n" if body else "") + _TAIL
