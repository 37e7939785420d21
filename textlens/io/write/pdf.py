"""Searchable-PDF writer: each page image with an invisible text layer laid over the recognised words.

Every line is one text object of invisible text (render mode 3) on the line's baseline, sized to the line's
height; each word is stretched horizontally (``Tz``) to its box and followed by a space glyph, and words whose
boxes touch are drawn narrower to leave a gap, so text extraction (pdftotext, pdfium, pdfminer) returns the
words with spaces, in reading order, at their place (docs/formats.md).
Right-to-left words (Arabic, Hebrew) are drawn in visual order so extractors read them back logically.

Page size in points is ``pixels * 72 / dpi``, with the page's DPI or 300 when it is unknown. Images
are embedded as JPEG (quality 85); a page without an image is a blank white page with the text layer.

The text uses an embedded, subsetted TrueType font (DejaVu Sans or any TTF fontconfig finds) as a
Type0/CIDFontType2 font with a ToUnicode map, so any Unicode text extracts correctly. Each distinct
character gets its own CID, so even characters the font has no glyph for map back to the right
Unicode. Without fontTools or a TTF on the system, Helvetica with WinAnsi encoding is used
(characters outside Windows-1252 then extract as '?').
"""

from __future__ import annotations

import functools
import hashlib
import io
import unicodedata
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

import numpy as np
from PIL import Image

from textlens.document import Document, Line, Page, Word
from textlens.errors import OutputError
from textlens.io.write._common import check_images, find_font_file, page_dpi, page_image_rgb, unicode_safe

JPEG_QUALITY = 85
# The least gap left between two words of a line, in font sizes: pdftotext parts words from 0.1 apart (0.2 with
# -raw) whatever space glyph lies between them; measured on textlens PDFs (tests/test_pdf_extractors.py).
MIN_WORD_GAP = 0.25


# ---------------------------------------------------------------- low-level PDF objects


def _pdf_string(text: str) -> bytes:
    """A PDF text string: UTF-16BE with a byte-order mark, as hex (safe for any character; the undecodable
    bytes of a non-UTF-8 file name become U+FFFD)."""
    return b"<FEFF" + unicode_safe(text).encode("utf-16-be").hex().upper().encode() + b">"


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


class _Objects:
    """Numbered PDF objects written to ``out`` as they come, with a cross-reference table at the end.

    Objects may be reserved first and written later (the page tree and the font, which need every page),
    so a long document streams page by page to its file instead of being held in memory.
    """

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._start = out.tell()
        self._offsets: list[int | None] = []
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")  # binary comment marks the file as binary

    def reserve(self) -> int:
        self._offsets.append(None)
        return len(self._offsets)

    def put(self, number: int, body: bytes) -> int:
        self._offsets[number - 1] = self._out.tell() - self._start
        self._out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
        return number

    def add(self, body: bytes) -> int:
        return self.put(self.reserve(), body)

    def add_stream(self, entries: str, data: bytes, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            entries += " /Filter /FlateDecode"
        head = f"<< {entries} /Length {len(data)} >>\nstream\n".encode()
        return self.add(head + data + b"\nendstream")

    def finish(self, root: int, info: int) -> None:
        """Write the cross-reference table and trailer: the file is complete."""
        missing = [n for n, off in enumerate(self._offsets, start=1) if off is None]
        if missing:
            raise AssertionError(f"PDF objects {missing} were reserved but never written")
        xref = self._out.tell() - self._start
        self._out.write(f"xref\n0 {len(self._offsets) + 1}\n0000000000 65535 f \n".encode())
        self._out.write(b"".join(f"{off:010d} 00000 n \n".encode() for off in self._offsets))
        self._out.write(
            f"trailer\n<< /Size {len(self._offsets) + 1} /Root {root} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n".encode()
        )


# ---------------------------------------------------------------- fonts


class _Font(Protocol):
    ascent: float  # above the baseline, in font-size units
    descent: float  # below the baseline (negative), in font-size units

    def encode(self, text: str) -> bytes: ...  # a hex string operand for Tj

    def width(self, text: str) -> float: ...  # advance in font-size units

    def write(self, objects: _Objects, number: int) -> None: ...  # the font dictionary as object `number`


class _StandardFont:
    """Helvetica with WinAnsiEncoding and declared uniform widths (fallback when no TTF is usable)."""

    ascent, descent = 0.718, -0.207
    _ADVANCE = 0.5  # declared in /Widths, so viewers and our layout agree exactly

    def encode(self, text: str) -> bytes:
        return b"<" + text.encode("cp1252", errors="replace").hex().upper().encode() + b">"

    def width(self, text: str) -> float:
        return self._ADVANCE * len(text.encode("cp1252", errors="replace"))

    def write(self, objects: _Objects, number: int) -> None:
        widths = " ".join([str(int(self._ADVANCE * 1000))] * 256)
        objects.put(
            number,
            (
                f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding"
                f" /FirstChar 0 /LastChar 255 /Widths [{widths}] >>"
            ).encode(),
        )


@functools.lru_cache(maxsize=4)
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


class _TrueTypeFont:
    """An embedded TrueType font as Type0/CIDFontType2: one CID per distinct character, Identity-H."""

    def __init__(self, path: str) -> None:
        from fontTools.ttLib import TTFont

        self._path = path
        self._font = TTFont(io.BytesIO(_font_bytes(path)), lazy=True)
        if "glyf" not in self._font:
            raise ValueError(f"{path} has no TrueType outlines (FontFile2 needs them)")
        self._cmap = self._font.getBestCmap() or {}
        self._order = self._font.getGlyphOrder()
        self._hmtx = self._font["hmtx"]
        head, hhea = self._font["head"], self._font["hhea"]
        self._upem = float(head.unitsPerEm)
        self.ascent = hhea.ascent / self._upem
        self.descent = hhea.descent / self._upem
        self._bbox = [round(v * 1000 / self._upem) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self._cids: dict[str, int] = {}

    def _gid(self, char: str) -> int:
        name = self._cmap.get(ord(char))
        return self._font.getGlyphID(name) if name is not None else 0

    def _advance(self, char: str) -> float:
        return self._hmtx[self._order[self._gid(char)]][0] / self._upem

    def _cid(self, char: str) -> int:
        return self._cids.setdefault(char, len(self._cids) + 1)

    def encode(self, text: str) -> bytes:
        return b"<" + "".join(f"{self._cid(c):04X}" for c in text).encode() + b">"

    def width(self, text: str) -> float:
        return sum(self._advance(c) for c in text)

    def _subset(self, gids: list[int]) -> bytes:
        """The font cut down to the glyphs used, glyph ids unchanged (so CIDToGIDMap stays valid)."""
        from fontTools import subset
        from fontTools.ttLib import TTFont

        options = subset.Options()
        options.retain_gids = True
        options.notdef_outline = True
        options.layout_features = []
        options.hinting = False
        options.drop_tables += ["FFTM"]  # FontForge's timestamp table, which fontTools cannot subset
        subsetter = subset.Subsetter(options)
        # Keep the font's own timestamp so the same document always gives the same PDF bytes.
        font = TTFont(io.BytesIO(_font_bytes(self._path)), recalcTimestamp=False)
        subsetter.populate(gids=gids)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()

    def _to_unicode(self) -> bytes:
        entries = [f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for char, cid in self._cids.items()]
        chunks = [entries[i : i + 100] for i in range(0, len(entries), 100)]  # at most 100 per bfchar block
        body = "".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar\n" for c in chunks)
        return (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + body
            + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        ).encode()

    def write(self, objects: _Objects, number: int) -> None:
        chars = list(self._cids)  # in CID order 1..n
        gids = [self._gid(c) for c in chars]
        digest = hashlib.sha1("".join(chars).encode("utf-8", "surrogatepass")).digest()
        tag = "".join(chr(ord("A") + b % 26) for b in digest[:6])  # subset prefix: six capitals
        name = f"{tag}+{Path(self._path).stem.replace(' ', '')}"
        try:
            font_file = self._subset(sorted({0, *gids}))
        except Exception:  # subsetting is only a size optimisation: embed the whole font instead
            font_file = _font_bytes(self._path)
        file_ref = objects.add_stream(f"/Length1 {len(font_file)}", font_file)
        bbox = " ".join(map(str, self._bbox))
        descriptor = objects.add(
            (
                f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{bbox}]"
                f" /ItalicAngle 0 /Ascent {round(self.ascent * 1000)} /Descent {round(self.descent * 1000)}"
                f" /CapHeight {round(self.ascent * 1000)} /StemV 80 /FontFile2 {file_ref} 0 R >>"
            ).encode()
        )
        cid_to_gid = objects.add_stream("", b"".join(g.to_bytes(2, "big") for g in [0, *gids]))
        widths = " ".join(str(round(self._advance(c) * 1000)) for c in chars)
        cid_font = objects.add(
            (
                f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name}"
                f" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
                f" /FontDescriptor {descriptor} 0 R /DW 1000 /W [1 [{widths}]] /CIDToGIDMap {cid_to_gid} 0 R >>"
            ).encode()
        )
        to_unicode = objects.add_stream("", self._to_unicode())
        objects.put(
            number,
            (
                f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H"
                f" /DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"
            ).encode(),
        )


def _make_font() -> _Font:
    path = find_font_file()
    if path is None:
        return _StandardFont()
    try:
        return _TrueTypeFont(path)
    except Exception:  # fontTools missing, or a damaged/unusual font file: it must not stop the PDF
        return _StandardFont()


# ---------------------------------------------------------------- pages

_RTL = {"R", "AL"}
_NUMBER = {"EN", "AN"}
_NUMBER_SEPARATOR = {"CS", "ES"}


def visual_order(text: str) -> str:
    """A right-to-left word's characters in drawing (left-to-right) order; other words unchanged.

    PDF text is drawn left to right and extractors apply the Unicode bidi algorithm to what they
    find, so Arabic or Hebrew drawn in logical order would come back reversed. Numbers inside an
    RTL word stay left to right. Words that mix in left-to-right letters are left as they are.
    """
    classes = [unicodedata.bidirectional(c) for c in text]
    if not _RTL.intersection(classes) or "L" in classes:
        return text
    numeric = [
        cls in _NUMBER
        or (
            cls in _NUMBER_SEPARATOR
            and 0 < i < len(text) - 1
            and classes[i - 1] in _NUMBER
            and classes[i + 1] in _NUMBER
        )
        for i, cls in enumerate(classes)
    ]
    runs: list[tuple[bool, str]] = []
    for char, is_number in zip(text, numeric, strict=True):
        if runs and runs[-1][0] == is_number:
            runs[-1] = (is_number, runs[-1][1] + char)
        else:
            runs.append((is_number, char))
    return "".join(run if is_number else run[::-1] for is_number, run in reversed(runs))


def _vertical_word_op(word: Word, font: _Font, scale: float, page_height_pt: float) -> str:
    """The operator drawing a word that runs up (``text_angle`` 90) or down (270) the page along its box."""
    x0, x1 = word.box[0] * scale, word.box[2] * scale
    top, bottom = page_height_pt - word.box[1] * scale, page_height_pt - word.box[3] * scale
    size = max(x1 - x0, 0.5) / max(font.ascent - font.descent, 0.1)
    natural = font.width(word.text) * size
    stretch = max(top - bottom, 0.1) / natural if natural > 0 else 1.0
    text = font.encode(visual_order(word.text)).decode()
    # The text matrix turns the advance up the page (glyph tops to the left) or down it (tops to the right).
    if word.text_angle == 90:
        matrix = f"0 {_num(stretch)} -1 0 {_num(x1 + font.descent * size)} {_num(bottom)}"
    else:
        matrix = f"0 {_num(-stretch)} 1 0 {_num(x0 - font.descent * size)} {_num(top)}"
    return f"/F1 {_num(size)} Tf {matrix} Tm {text} Tj"


def _word_spans(words: Sequence[Word], scale: float, gap: float) -> list[tuple[float, float]]:
    """Where each word's glyphs go along the line (points): its box, narrowed where it comes within ``gap`` of
    the next word's box, the shortfall taken half from each word's facing end and at most a third of either
    word's width, so a word keeps at least a third of its box. Only a word followed to its right is narrowed
    (an upside-down line reads right to left)."""
    spans = [[w.box[0] * scale, w.box[2] * scale] for w in words]
    widths = [right - left for left, right in spans]
    for i in range(len(spans) - 1):
        left, right = spans[i], spans[i + 1]
        if right[0] <= left[0]:
            continue
        short = gap - (right[0] - left[1])
        if short <= 0:
            continue
        cut_left = min(short / 2, widths[i] / 3)
        cut_right = min(short - cut_left, widths[i + 1] / 3)
        cut_left = min(short - cut_right, widths[i] / 3)
        left[1] -= cut_left
        right[0] += cut_right
    return [(left, right) for left, right in spans]


def _line_ops(line: Line, font: _Font, scale: float, page_height_pt: float) -> list[str]:
    """Content-stream operators drawing one line's words invisibly over their boxes, in one text object.

    As OCRmyPDF's renderer does, the line is one BT..ET block: the first word is placed with ``Td`` on the
    line's baseline and each next one moved to with a relative ``Td``; every word is drawn with its own
    horizontal scaling (``Tz``) so its glyphs span its box, and is followed by a space glyph (after the
    line's last word too), so extractors that read the characters (pdfminer, pdfium) see every word break.
    Extractors that read the geometry (pdftotext) also want a gap between the glyphs: words whose boxes come
    within ``MIN_WORD_GAP`` font sizes of each other are drawn narrower (``_word_spans``), since the
    pipeline's boxes carry a margin of a tenth of their height each side and often touch.
    """
    words = [w for w in line.words if w.text]
    if not words or line.box is None:
        return []
    if all(w.text_angle in (90, 270) for w in words):  # up or down a margin: layout makes it a line of its own
        # Tz is text state that outlives BT..ET: the turned words are fitted by their text matrix alone.
        return ["BT", "3 Tr", "100 Tz", *(_vertical_word_op(w, font, scale, page_height_pt) for w in words), "ET"]
    line_height = max((line.box[3] - line.box[1]) * scale, 0.5)
    size = line_height / max(font.ascent - font.descent, 0.1)
    baseline = page_height_pt - line.box[3] * scale - font.descent * size
    ops = ["BT", "3 Tr", f"/F1 {_num(size)} Tf"]
    previous_x = None
    for word, (x0, x1) in zip(words, _word_spans(words, scale, MIN_WORD_GAP * size), strict=True):
        natural = font.width(word.text) * size
        stretch = 100 * max(x1 - x0, 0.1) / natural if natural > 0 else 100.0
        ops.append(f"{_num(x0)} {_num(baseline)} Td" if previous_x is None else f"{_num(x0 - previous_x)} 0 Td")
        previous_x = x0
        ops.append(f"{_num(stretch)} Tz {font.encode(visual_order(word.text) + ' ').decode()} Tj")
    ops.append("ET")
    return ops


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _page_objects(
    objects: _Objects, page: Page, image: np.ndarray | None, font: _Font, pages_ref: int, font_ref: int
) -> int:
    scale = 72.0 / page_dpi(page)
    width_pt, height_pt = max(page.width, 1) * scale, max(page.height, 1) * scale
    ops: list[str] = []
    resources = f"/Font << /F1 {font_ref} 0 R >>"
    if image is not None:
        rgb = page_image_rgb(page, image)
        data = _jpeg(rgb)
        image_ref = objects.add_stream(
            f"/Type /XObject /Subtype /Image /Width {rgb.shape[1]} /Height {rgb.shape[0]}"
            f" /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
            data,
            compress=False,
        )
        resources += f" /XObject << /Im1 {image_ref} 0 R >>"
        ops.append(f"q {_num(width_pt)} 0 0 {_num(height_pt)} 0 0 cm /Im1 Do Q")
    for line in page.lines:
        ops.extend(_line_ops(line, font, scale, height_pt))
    content = objects.add_stream("", "\n".join(ops).encode("ascii"))
    media_box = f"[0 0 {_num(width_pt)} {_num(height_pt)}]"
    return objects.add(
        (
            f"<< /Type /Page /Parent {pages_ref} 0 R /MediaBox {media_box}"
            f" /Resources << {resources} >> /Contents {content} 0 R >>"
        ).encode()
    )


class PdfWriter:
    """A searchable PDF written page by page to a binary stream: ``add_page`` for each page as it is read
    (its image can be dropped right after), then ``finish``. Only the characters used are kept until the end,
    for the font subset."""

    def __init__(self, out: IO[bytes]) -> None:
        self._objects = _Objects(out)
        self._catalog, self._pages_ref, self._font_ref = (self._objects.reserve() for _ in range(3))
        self._font = _make_font()
        self._kids: list[int] = []

    def add_page(self, page: Page, image: np.ndarray | None) -> None:
        self._kids.append(_page_objects(self._objects, page, image, self._font, self._pages_ref, self._font_ref))

    def finish(self, title: str = "", lang: str | None = None) -> None:
        if not self._kids:
            raise OutputError("the document has no pages; a PDF needs at least one")
        objects = self._objects
        self._font.write(objects, self._font_ref)  # after the pages: the font subset needs every character used
        kid_refs = " ".join(f"{k} 0 R" for k in self._kids)
        objects.put(self._pages_ref, f"<< /Type /Pages /Kids [{kid_refs}] /Count {len(self._kids)} >>".encode())
        language = b" /Lang " + _pdf_string(lang) if lang else b""  # the document's natural language (PDF 1.4)
        objects.put(self._catalog, f"<< /Type /Catalog /Pages {self._pages_ref} 0 R".encode() + language + b" >>")
        info = objects.add(
            b"<< /Producer "
            + _pdf_string("textlens")
            + b" /Creator "
            + _pdf_string("textlens")
            + (b" /Title " + _pdf_string(title) if title else b"")
            + b" >>"
        )
        objects.finish(self._catalog, info)


def document_title(document: Document) -> str:
    return str(document.metadata.get("title") or (document.pages[0].source or "" if document.pages else ""))


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> bytes:
    """The document as searchable PDF bytes (one PDF page per document page)."""
    if not document.pages:
        raise OutputError("the document has no pages; a PDF needs at least one")
    page_images = check_images(document, images)
    out = io.BytesIO()
    writer = PdfWriter(out)
    for page, image in zip(document.pages, page_images, strict=True):
        writer.add_page(page, image)
    writer.finish(document_title(document), document.lang)
    return out.getvalue()
