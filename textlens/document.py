"""The typed document tree: Document → Page → Block → Line → Word, with geometry and confidence.

Every box is ``(x0, y0, x1, y1)`` in page pixels (x right, y down, x1/y1 exclusive edges as floats).
A polygon, when present, is four or more ``(x, y)`` points clockwise from the top-left corner.
Writers read only this tree; the JSON shape is documented in docs/document-json.md.
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
        )

    @classmethod
    def from_words(
        cls,
        words: Iterable[Word],
        width: int,
        height: int,
        regions: Sequence[int] | None = None,
        gap_factor: float = 1.0,
        **meta: Any,
    ) -> Page:
        """Build a page from loose words, grouping them into lines and blocks in reading order
        (``regions``, ``gap_factor``: see ``layout_blocks``)."""
        blocks = layout_blocks(list(words), regions=regions, gap_factor=gap_factor)
        return cls(width=width, height=height, blocks=tuple(blocks), **meta)

    @classmethod
    def from_lines(cls, lines: Iterable[Line], width: int, height: int, **meta: Any) -> Page:
        """Build a page from lines grouped already (by a line detector), ordering them into blocks."""
        return cls(width=width, height=height, blocks=tuple(layout_lines(list(lines))), **meta)


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

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "metadata": dict(self.metadata), "pages": [p.to_dict() for p in self.pages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        if not isinstance(data, dict) or "pages" not in data:
            raise AnnotationError("a document dict needs a 'pages' list")
        return cls(pages=tuple(Page.from_dict(p) for p in data["pages"]), metadata=dict(data.get("metadata", {})))


# ---------------------------------------------------------------- reading order


def vertical_overlap(a: Box, b: Box) -> float:
    """Overlap of two boxes' vertical extents as a fraction of the shorter height."""
    inter = min(a[3], b[3]) - max(a[1], b[1])
    shorter = max(min(a[3] - a[1], b[3] - b[1]), 1e-6)
    return max(0.0, inter) / shorter


def group_words_into_lines(words: Sequence[Word], min_overlap: float = 0.5) -> list[Line]:
    """Group words into lines by chaining neighbours: taken left to right, a word continues the line whose
    last word it overlaps vertically most (at least ``min_overlap`` of the shorter height).

    Comparing with the last word rather than the whole line's box follows lines that slope on a skewed
    scan or photo: a sloping line's union box grows tall and swallowed the next rows (on SROIE receipts
    0-59 read with ``db_fast``, line detection F1 0.788 → 0.813, page CER 20.4 → 16.3 %; see
    docs/detection.md). A word that starts more than half a height left of a line's last word's right
    end is not its continuation. Lines come back top to bottom, each with its words left to right. Words
    far apart on one baseline (two columns) are kept in one line here; ``split_line_at_gaps`` separates
    them. A word running up or down the page (``Word.text_angle`` 90 or 270: an ID printed up a margin) is a
    line of its own: its tall box overlaps every row beside it.
    """
    lines: list[list[Word]] = []
    vertical: list[list[Word]] = []
    across: list[Word] = []
    for word in words:
        if word.text_angle in (90, 270):
            vertical.append([word])
        else:
            across.append(word)
    for word in sorted(across, key=lambda w: (w.box[0], w.box[1])):
        best, best_overlap = -1, min_overlap
        for i, line_words in enumerate(lines):
            last = line_words[-1]
            height = max(last.box[3] - last.box[1], word.box[3] - word.box[1])
            if word.box[0] < last.box[2] - 0.5 * height:
                continue
            overlap = vertical_overlap(word.box, last.box)
            if overlap >= best_overlap:
                best, best_overlap = i, overlap
        if best < 0:
            lines.append([word])
        else:
            lines[best].append(word)
    return sort_lines(Line(words=tuple(ws)) for ws in lines + vertical)


def _side_by_side(left: Line, right: Line) -> bool:
    """``right`` continues ``left``'s row: they overlap vertically by half the shorter and it starts to the right."""
    assert left.box is not None and right.box is not None
    return vertical_overlap(left.box, right.box) >= 0.5 and right.box[0] >= left.box[2] - 0.5 * (
        left.box[3] - left.box[1]
    )


def sort_lines(lines: Iterable[Line]) -> list[Line]:
    """Lines in rows top to bottom, each row left to right.

    A row is a run of lines (by vertical centre) that overlap the row's first line vertically by at least
    half the shorter height, so a label and an amount a line detector found apart read in order even when
    the amount sits a pixel higher than the next label.
    """

    def centre(line: Line) -> float:
        assert line.box is not None
        return (line.box[1] + line.box[3]) / 2

    rows: list[list[Line]] = []
    for line in sorted(lines, key=centre):
        assert line.box is not None
        if rows and rows[-1][0].box is not None and vertical_overlap(rows[-1][0].box, line.box) >= 0.5:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0] if ln.box else 0.0)]


# Column gap for the pipeline's word boxes (ink + 0.1 height each side), in box heights: db_fast on SROIE
# receipts 120-149, line detection F1 0.827 at 1.0, 0.843 at 0.6, 0.846 at 0.7, 0.836 at 0.85 (0-59: 0.782 → 0.788).
WORD_BOX_GAP = 0.7


def split_line_at_gaps(
    line: Line, gap_factor: float = 1.0, together: Callable[[Word, Word], bool] | None = None
) -> list[Line]:
    """Split a line where the horizontal gap between neighbouring words exceeds ``gap_factor`` × height,
    except between two words for which ``together(left, right)`` holds (one detected region's words: the
    detector saw them as one run of text, and their gap is only the recogniser's estimate).

    Word spaces are well under one box height (a detector's boxes carry margins), table columns and a
    label's amount are wider. 1.0 (was 2.5) lifted db_fast's SROIE line detection F1 from 0.725 to 0.827
    and left its FUNSD page CER unchanged. Tight boxes (ground truth) need 1.0: a word space is up to 0.8 of
    their height. The pipeline's word boxes carry 0.1-height margins, and it uses ``WORD_BOX_GAP`` (0.7):
    receipts set columns two or three monospace characters apart (docs/detection.md).
    """
    if len(line.words) < 2:
        return [line]
    height = max((w.box[3] - w.box[1]) for w in line.words)
    parts: list[list[Word]] = [[line.words[0]]]
    for prev, word in zip(line.words, line.words[1:], strict=False):
        if word.box[0] - prev.box[2] > gap_factor * height and not (together and together(prev, word)):
            parts.append([word])
        else:
            parts[-1].append(word)
    return [Line(words=tuple(p)) for p in parts]


def find_column_gutters(boxes: Sequence[Box], page_width: float, min_gap_ratio: float = 0.02) -> list[float]:
    """x positions of vertical white gutters crossing the text (simple projection-profile column detection).

    A gutter is a run of x with no box over it, at least ``min_gap_ratio`` of the page wide, with text on
    both sides. Returns the gutter centres, left to right.
    """
    if not boxes:
        return []
    x_min = min(b[0] for b in boxes)
    x_max = max(b[2] for b in boxes)
    intervals = sorted((b[0], b[2]) for b in boxes)
    gutters: list[float] = []
    reach = intervals[0][1]
    for start, end in intervals[1:]:
        if start - reach >= max(min_gap_ratio * page_width, 1.0) and x_min < reach and start < x_max:
            gutters.append((reach + start) / 2)
        reach = max(reach, end)
    return gutters


def layout_blocks(
    words: Sequence[Word],
    page_width: float | None = None,
    paragraph_gap: float = 1.2,
    regions: Sequence[int] | None = None,
    gap_factor: float = 1.0,
) -> list[Block]:
    """Arrange loose words into blocks of lines in reading order.

    Columns (found from white gutters) are read left to right, each top to bottom; within a column,
    lines separated by a vertical gap above ``paragraph_gap`` × the line height start a new block.
    ``regions`` (one index per word) names the detected region each word was read from: a line is never
    split at a gap between two words of one region. Lines split at horizontal gaps over ``gap_factor`` box
    heights (``split_line_at_gaps``).
    """
    if not words:
        return []
    together = None
    if regions is not None:
        region_of = {id(w): r for w, r in zip(words, regions, strict=True)}

        def together(left: Word, right: Word) -> bool:
            return region_of.get(id(left), -1) == region_of.get(id(right), -2)

    lines = [part for line in group_words_into_lines(words) for part in split_line_at_gaps(line, gap_factor, together)]
    return layout_lines([in_reading_direction(line) for line in lines], page_width, paragraph_gap)


def in_reading_direction(line: Line) -> Line:
    """A line whose words mostly read turned by 180° (an upside-down label on an upright page), with its
    words in the order the turned text reads: right to left on the page."""
    backwards = sum(w.text_angle == 180 for w in line.words)
    return Line(words=line.words[::-1]) if 2 * backwards > len(line.words) else line


def layout_lines(lines: Sequence[Line], page_width: float | None = None, paragraph_gap: float = 1.2) -> list[Block]:
    """Arrange lines that are already grouped (a line detector's regions) into blocks in reading order."""
    lines = [ln for ln in lines if ln.words]
    if not lines:
        return []
    width = page_width if page_width is not None else max(ln.box[2] for ln in lines if ln.box)
    gutters = find_column_gutters([ln.box for ln in lines if ln.box], width)
    columns: list[list[Line]] = [[] for _ in range(len(gutters) + 1)]
    for line in lines:
        assert line.box is not None
        centre = (line.box[0] + line.box[2]) / 2
        columns[sum(centre > g for g in gutters)].append(line)
    blocks: list[Block] = []
    for column in columns:
        current: list[Line] = []
        for line in sort_lines(column):
            if current:
                prev = current[-1]
                assert prev.box is not None and line.box is not None
                height = max(prev.box[3] - prev.box[1], 1.0)
                if line.box[1] - prev.box[3] > paragraph_gap * height:
                    blocks.append(Block(lines=tuple(current)))
                    current = []
            current.append(line)
        if current:
            blocks.append(Block(lines=tuple(current)))
    return blocks


def reading_order_text(words: Sequence[Word]) -> str:
    """Words grouped into lines by vertical centre, left to right, lines joined by newlines."""
    return "\n".join(line.text for line in group_words_into_lines(words))
