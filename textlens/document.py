"""The typed document tree: Document → Page → Block → Line → Word, with geometry and confidence.

Every box is ``(x0, y0, x1, y1)`` in page pixels (x right, y down, x1/y1 exclusive edges as floats).
A polygon, when present, is four or more ``(x, y)`` points clockwise from the top-left corner.
Writers read only this tree; the JSON shape is documented in docs/document-json.md. Pages are built from
loose words or lines, in reading order, by ``textlens.layout``.

For notebooks and scripts, pages and documents also ``export`` themselves in any output format, ``show``
themselves in a matplotlib figure and render in Jupyter (``_repr_png_`` / ``_repr_html_``). Those methods
import ``textlens.io.notebook`` when called (this module imports nothing of ours but ``errors`` on import).
A page read by ``OCR.read`` keeps no pixels: ``Page.image_source`` loads them again from the input when
asked (see ``Page.load_image``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from textlens.errors import AnnotationError

Box = tuple[float, float, float, float]
Point = tuple[float, float]
Polygon = tuple[Point, ...]

SCHEMA_VERSION = 1


def _box(value: Sequence[float]) -> Box:
    if len(value) != 4:
        raise AnnotationError(f"a box needs 4 numbers (x0, y0, x1, y1), got {list(value)!r}")
    x0, y0, x1, y1 = (float(v) for v in value)
    if x1 < x0 or y1 < y0:
        raise AnnotationError(f"box {list(value)!r} has x1 < x0 or y1 < y0")
    return (x0, y0, x1, y1)


def _polygon(value: Sequence[Sequence[float]] | None) -> Polygon | None:
    if value is None:
        return None
    points = tuple((float(p[0]), float(p[1])) for p in value)
    if len(points) < 3:
        raise AnnotationError(f"a polygon needs at least 3 points, got {len(points)}")
    return points


def union_box(boxes: Iterable[Box]) -> Box:
    """The smallest box holding every box given (raises on an empty input)."""
    boxes = list(boxes)
    if not boxes:
        raise ValueError("union_box of no boxes")
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def polygon_box(polygon: Sequence[Sequence[float]]) -> Box:
    """The axis-aligned bounding box of a polygon."""
    xs = [float(p[0]) for p in polygon]
    ys = [float(p[1]) for p in polygon]
    return (min(xs), min(ys), max(xs), max(ys))


def vertical_overlap(a: Box, b: Box) -> float:
    """Overlap of two boxes' vertical extents as a fraction of the shorter height."""
    inter = min(a[3], b[3]) - max(a[1], b[1])
    shorter = max(min(a[3] - a[1], b[3] - b[1]), 1e-6)
    return max(0.0, inter) / shorter


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _round_box(box: Box) -> list[float]:
    return [round(v, 2) for v in box]


@dataclass(frozen=True)
class Word:
    """One word: its text, box, optional polygon and recognition confidence in [0, 1]."""

    text: str
    box: Box
    confidence: float = 1.0
    polygon: Polygon | None = None

    @property
    def text_angle(self) -> int:
        """Which way the text runs, in degrees counter-clockwise from left-to-right: 0, 90 (up the page), 180
        (upside down) or 270 (down the page), from the polygon's first edge (its top edge, left to right, in
        the text's own frame); 0 without a polygon."""
        if self.polygon is None or len(self.polygon) < 2:
            return 0
        (ax, ay), (bx, by) = self.polygon[0], self.polygon[1]
        if abs(bx - ax) >= abs(by - ay):
            return 0 if bx >= ax else 180
        return 90 if by < ay else 270

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "box": _round_box(self.box), "confidence": round(self.confidence, 4)}
        if self.polygon is not None:
            out["polygon"] = [[round(x, 2), round(y, 2)] for x, y in self.polygon]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            text=str(data["text"]),
            box=_box(data["box"]),
            confidence=float(data.get("confidence", 1.0)),
            polygon=_polygon(data.get("polygon")),
        )


@dataclass(frozen=True)
class Line:
    """A line of words in reading order (left to right; right to left on the page for a line read turned by
    180°); its box is the union of the words' unless given."""

    words: tuple[Word, ...]
    box: Box | None = None
    polygon: Polygon | None = None

    def __post_init__(self) -> None:
        if self.box is None and self.words:
            object.__setattr__(self, "box", union_box(w.box for w in self.words))
        if self.box is None:
            raise AnnotationError("a line needs words or a box")

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return _mean([w.confidence for w in self.words])

    @property
    def text_angle(self) -> int:
        """The ``Word.text_angle`` most of the words share (0 for a tie or no words)."""
        angles = [w.text_angle for w in self.words]
        best = max(set(angles), key=angles.count, default=0)
        return best if 2 * angles.count(best) > len(angles) else 0

    def to_dict(self) -> dict[str, Any]:
        assert self.box is not None
        out: dict[str, Any] = {
            "box": _round_box(self.box),
            "confidence": round(self.confidence, 4),
            "words": [w.to_dict() for w in self.words],
        }
        if self.polygon is not None:
            out["polygon"] = [[round(x, 2), round(y, 2)] for x, y in self.polygon]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        return cls(
            words=tuple(Word.from_dict(w) for w in data.get("words", [])),
            box=_box(data["box"]) if "box" in data else None,
            polygon=_polygon(data.get("polygon")),
        )


@dataclass(frozen=True)
class Block:
    """A block (paragraph or column region) of lines in reading order."""

    lines: tuple[Line, ...]
    box: Box | None = None

    def __post_init__(self) -> None:
        if self.box is None and self.lines:
            object.__setattr__(self, "box", union_box(ln.box for ln in self.lines if ln.box))
        if self.box is None:
            raise AnnotationError("a block needs lines or a box")

    @property
    def text(self) -> str:
        """Lines joined by newlines, except that lines side by side on one row (a label and its amount,
        kept apart by a line detector) are joined by a space, as they read."""
        out = ""
        for i, line in enumerate(self.lines):
            if i:
                out += " " if _side_by_side(self.lines[i - 1], line) else "\n"
            out += line.text
        return out

    @property
    def words(self) -> list[Word]:
        return [w for ln in self.lines for w in ln.words]

    @property
    def confidence(self) -> float:
        return _mean([w.confidence for w in self.words])

    def to_dict(self) -> dict[str, Any]:
        assert self.box is not None
        return {
            "box": _round_box(self.box),
            "confidence": round(self.confidence, 4),
            "lines": [ln.to_dict() for ln in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        return cls(
            lines=tuple(Line.from_dict(ln) for ln in data.get("lines", [])),
            box=_box(data["box"]) if "box" in data else None,
        )


def _side_by_side(left: Line, right: Line) -> bool:
    """``right`` continues ``left``'s row: they overlap vertically by half the shorter and it starts to the right."""
    assert left.box is not None and right.box is not None
    return vertical_overlap(left.box, right.box) >= 0.5 and right.box[0] >= left.box[2] - 0.5 * (
        left.box[3] - left.box[1]
    )


@dataclass(frozen=True)
class Page:
    """One page: its pixel size, resolution, where it came from, and its blocks in reading order."""

    width: int
    height: int
    blocks: tuple[Block, ...] = ()
    index: int = 0
    dpi: float | None = None
    source: str | None = None
    rotation: int = 0  # clockwise degrees the page was turned by before reading (0, 90, 180, 270)
    lang: str | None = None  # the language of its text (ISO 639-1), given or guessed; None when unknown
    # Loads the page's RGB pixels again on call (OCR.read sets it: a reference to the input, never the pixels);
    # neither serialised nor compared.
    image_source: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    def load_image(self) -> Any:
        """The page image (RGB uint8, as read: before any turn) loaded again from its input, or None when the
        page has no ``image_source`` (built by hand, from JSON, or by ``OCR.read_page``)."""
        return None if self.image_source is None else self.image_source()

    def export(self, fmt: str, image: Any = None, **options: Any) -> str | bytes:
        """This page alone in ``fmt`` (see ``Document.export``)."""
        from textlens.io.notebook import export

        return export(Document(pages=(self,)), fmt, None if image is None else [image], **options)

    def show(self, image: Any = None, **options: Any) -> Any:
        """A matplotlib figure of the page with its word boxes and text (needs matplotlib: the ``viz`` extra);
        ``image`` overrides the page's own. Options: ``text`` (draw the words, default True), ``ax``,
        ``figsize``. See ``textlens.io.notebook.show_page``."""
        from textlens.io.notebook import show_page

        return show_page(self, image, **options)

    def _repr_png_(self) -> bytes | None:
        from textlens.io.notebook import page_png

        return page_png(self)

    def _repr_html_(self) -> str | None:
        from textlens.io.notebook import pages_html

        return pages_html([self])

    @property
    def lines(self) -> list[Line]:
        return [ln for b in self.blocks for ln in b.lines]

    @property
    def words(self) -> list[Word]:
        return [w for b in self.blocks for w in b.words]

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)

    @property
    def confidence(self) -> float:
        return _mean([w.confidence for w in self.words])

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "width": self.width,
            "height": self.height,
            "dpi": self.dpi,
            "source": self.source,
            "rotation": self.rotation,
            "lang": self.lang,
            "blocks": [b.to_dict() for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Page:
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            blocks=tuple(Block.from_dict(b) for b in data.get("blocks", [])),
            index=int(data.get("index", 0)),
            dpi=None if data.get("dpi") is None else float(data["dpi"]),
            source=data.get("source"),
            rotation=int(data.get("rotation", 0)),
            lang=None if data.get("lang") is None else str(data["lang"]),
        )


@dataclass(frozen=True)
class Document:
    """A read document: pages in order plus free-form metadata (engine, models, timings)."""

    pages: tuple[Page, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\f".join(p.text for p in self.pages)

    def words(self) -> Iterator[Word]:
        for page in self.pages:
            yield from page.words

    @property
    def lang(self) -> str | None:
        """The language every page with a known language shares (None when none is known or they differ)."""
        langs = {p.lang for p in self.pages if p.lang}
        return langs.pop() if len(langs) == 1 else None

    def export(self, fmt: str, images: Sequence[Any] | None = None, **options: Any) -> str | bytes:
        """The document in an output format of ``textlens.io.write`` (``text``, ``json``, ``hocr``, ``alto``,
        ``tsv``: str; ``pdf``, ``overlay``: bytes), as ``textlens read -f FMT`` writes it. ``images`` (one per
        page) default to the pages' own (``Page.load_image``), loaded one page at a time for ``pdf``; a page
        without one is drawn on white. ``dehyphenate`` (``text`` only) as in ``textlens.io.write.render``."""
        from textlens.io.notebook import export

        return export(self, fmt, images, **options)

    def show(self, **options: Any) -> list[Any]:
        """One matplotlib figure per page (``Page.show``; ``pages`` picks 0-based page positions)."""
        from textlens.io.notebook import show_document

        return show_document(self, **options)

    def _repr_html_(self) -> str | None:
        from textlens.io.notebook import pages_html

        return pages_html(self.pages, metadata=self.metadata)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "metadata": dict(self.metadata), "pages": [p.to_dict() for p in self.pages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        if not isinstance(data, dict) or "pages" not in data:
            raise AnnotationError("a document dict needs a 'pages' list")
        return cls(pages=tuple(Page.from_dict(p) for p in data["pages"]), metadata=dict(data.get("metadata", {})))
