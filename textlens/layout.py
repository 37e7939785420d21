"""Layout: loose words → lines → blocks in reading order, and the Pages built from them.

The pipeline's words (or a line detector's lines) become a :class:`~textlens.document.Page` here, as docTR's
``DocumentBuilder`` builds its pages: words chain into lines (``group_words_into_lines``), lines split at
column gaps (``split_line_at_gaps``), columns are found from white gutters (``find_column_gutters``) and
lines gather into blocks at paragraph gaps (``layout_lines``). ``textlens.document`` holds the tree only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textlens.document import Block, Box, Line, Page, Word, vertical_overlap

# Column gap for the pipeline's word boxes (ink + 0.1 height each side), in box heights: db_fast on SROIE
# receipts 120-149, line detection F1 0.827 at 1.0, 0.843 at 0.6, 0.846 at 0.7, 0.836 at 0.85 (0-59: 0.782 → 0.788).
WORD_BOX_GAP = 0.7


def page_from_words(
    words: Iterable[Word],
    width: int,
    height: int,
    regions: Sequence[int] | None = None,
    gap_factor: float = 1.0,
    **meta: Any,
) -> Page:
    """A page built from loose words, grouped into lines and blocks in reading order
    (``regions``, ``gap_factor``: see ``layout_blocks``; ``meta``: the other Page fields)."""
    blocks = layout_blocks(list(words), regions=regions, gap_factor=gap_factor)
    return Page(width=width, height=height, blocks=tuple(blocks), **meta)


def page_from_lines(lines: Iterable[Line], width: int, height: int, **meta: Any) -> Page:
    """A page built from lines grouped already (by a line detector), ordered into blocks."""
    return Page(width=width, height=height, blocks=tuple(layout_lines(list(lines))), **meta)


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
