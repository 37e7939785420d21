"""Layout: words chained into lines, column gaps and gutters, blocks, reading order, and the Pages built."""

from __future__ import annotations

import pytest

from textlens.document import Line, Word
from textlens.layout import (
    WORD_BOX_GAP,
    find_column_gutters,
    group_words_into_lines,
    layout_blocks,
    page_from_lines,
    page_from_words,
    reading_order_text,
)


def word(text: str, x0: float, y0: float, x1: float, y1: float, conf: float = 0.9) -> Word:
    return Word(text=text, box=(x0, y0, x1, y1), confidence=conf)


def test_words_group_into_lines_top_to_bottom_left_to_right() -> None:
    words = [
        word("world", 60, 12, 110, 30),
        word("second", 10, 50, 70, 68),
        word("Hello", 10, 10, 55, 30),
        word("line", 80, 52, 120, 70),
    ]
    lines = group_words_into_lines(words)
    assert [ln.text for ln in lines] == ["Hello world", "second line"]
    assert reading_order_text(words) == "Hello world\nsecond line"


def test_two_columns_are_read_one_after_the_other() -> None:
    left = [word(f"L{i}", 10, 10 + 20 * i, 180, 26 + 20 * i) for i in range(3)]
    right = [word(f"R{i}", 320, 10 + 20 * i, 500, 26 + 20 * i) for i in range(3)]
    assert find_column_gutters([w.box for w in left + right], page_width=520) == [250.0]
    blocks = layout_blocks(right + left, page_width=520)
    assert [b.text for b in blocks] == ["L0\nL1\nL2", "R0\nR1\nR2"]


def test_paragraph_gap_starts_a_new_block() -> None:
    words = [word("one", 10, 10, 50, 30), word("two", 10, 34, 50, 54), word("three", 10, 120, 60, 140)]
    blocks = layout_blocks(words)
    assert [b.text for b in blocks] == ["one\ntwo", "three"]


def test_a_gap_wider_than_a_word_box_is_high_splits_the_line() -> None:
    # A receipt's column heads: word spaces of 0.4 box heights join, the 1.2-height column gaps split
    # (the gap rule the SROIE line truth follows; measured in docs/detection.md).
    words = [
        word("S/PRICE", 0, 0, 140, 40),
        word("AMOUNT", 188, 0, 320, 40),
        word("TAX", 368, 0, 430, 40),
        word("ROUNDING", 0, 60, 170, 100),
        word("ADJ", 186, 60, 240, 100),
    ]
    texts = sorted(line.text for block in layout_blocks(words) for line in block.lines)
    assert texts == ["AMOUNT", "ROUNDING ADJ", "S/PRICE", "TAX"]


def test_sloping_lines_of_a_skewed_page_stay_apart() -> None:
    # Three lines 30 px apart, each falling 8 px per word (about 9°): a line's union box grows taller
    # than the line gap, so grouping by the whole line's box joined the rows; chaining word to word does not.
    words = [
        word(f"r{row}w{i}", 10 + 55 * i, 10 + 30 * row + 8 * i, 60 + 55 * i, 28 + 30 * row + 8 * i)
        for row in range(3)
        for i in range(6)
    ]
    lines = group_words_into_lines(words)
    assert [ln.text for ln in lines] == [" ".join(f"r{row}w{i}" for i in range(6)) for row in range(3)]


def test_receipt_columns_two_characters_apart_split() -> None:
    # "AMOUNT  TAX" on a monospace receipt, boxes as the pipeline makes them (ink + margins): a gap of 0.8
    # box heights is a column gap (SROIE's line truth). Tight boxes (ground truth) keep the 1.0 default.
    words = [word("AMOUNT", 0, 0, 150, 40), word("TAX", 182, 0, 250, 40), word("GST", 0, 60, 70, 100)]
    texts = sorted(line.text for block in layout_blocks(words, gap_factor=WORD_BOX_GAP) for line in block.lines)
    assert texts == ["AMOUNT", "GST", "TAX"]
    assert sorted(line.text for block in layout_blocks(words) for line in block.lines) == ["AMOUNT TAX", "GST"]


def test_words_of_one_detected_region_are_never_split_at_a_gap() -> None:
    words = [word("AMOUNT", 0, 0, 150, 40), word("TAX", 182, 0, 250, 40)]
    one_region = [ln.text for b in layout_blocks(words, regions=[0, 0], gap_factor=WORD_BOX_GAP) for ln in b.lines]
    two_regions = [ln.text for b in layout_blocks(words, regions=[0, 1], gap_factor=WORD_BOX_GAP) for ln in b.lines]
    assert one_region == ["AMOUNT TAX"]
    assert sorted(two_regions) == ["AMOUNT", "TAX"]


def test_page_from_words_keeps_every_word_once() -> None:
    words = [
        word(f"w{i}", 10 + 40 * (i % 5), 10 + 25 * (i // 5), 45 + 40 * (i % 5), 30 + 25 * (i // 5)) for i in range(20)
    ]
    page = page_from_words(words, width=300, height=200)
    assert sorted(w.text for w in page.words) == sorted(w.text for w in words)
    assert page.lines[0].text == "w0 w1 w2 w3 w4"
    assert page.confidence == pytest.approx(0.9)


def test_lines_side_by_side_read_as_one_row_in_order() -> None:
    def line(text: str, x0: float, y0: float) -> Line:
        return Line(words=(Word(text=text, box=(x0, y0, x0 + 10 * len(text), y0 + 20)),))

    # The amount of the second row sits 3 px higher than its label; the first row's amount 2 px lower.
    # A heading spans both columns, so there is no column gutter: this is a table.
    lines = [
        line("1 x Pen", 10, 60),
        line("24.50", 300, 57),
        line("2 x Book", 10, 30),
        line("7.90", 300, 32),
        line("Items and their prices, in euros", 10, 4),
    ]
    page = page_from_lines(lines, width=400, height=100)
    assert [ln.text for ln in page.lines][1:] == ["2 x Book", "7.90", "1 x Pen", "24.50"]
    assert page.text.endswith("\n2 x Book 7.90\n1 x Pen 24.50")


def test_a_line_of_words_read_turned_by_180_degrees_runs_right_to_left() -> None:
    def turned(text: str, x0: float, x1: float) -> Word:
        # Read upside down: the polygon starts at the text's own top-left, the page's bottom-right corner.
        return Word(text=text, box=(x0, 10, x1, 20), polygon=((x1, 20), (x0, 20), (x0, 10), (x1, 10)))

    words = [turned("2026", 0, 30), turned("March", 40, 80), turned("Date:", 90, 130)]
    (block,) = layout_blocks(words)
    assert block.lines[0].text == "Date: March 2026"
    upright = [Word(text=t, box=(x, 10, x + 30, 20)) for t, x in (("Date:", 0), ("14", 40))]
    assert layout_blocks(upright)[0].lines[0].text == "Date: 14"


def _standing(text: str, x0: float, y0: float, x1: float, y1: float, runs_up: bool = True) -> Word:
    """A word printed up (or down) the page: its polygon starts at the text's own top-left corner."""
    corners = ((x0, y1), (x0, y0), (x1, y0), (x1, y1)) if runs_up else ((x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return Word(text=text, box=(x0, y0, x1, y1), polygon=corners)


def test_a_word_up_the_margin_is_a_line_of_its_own() -> None:
    rows = [
        Word(text=t, box=(60 + 50 * i, y, 100 + 50 * i, y + 12))
        for y, ts in ((30, ("Total", "due")), (60, ("Date",)))
        for i, t in enumerate(ts)
    ]
    margin = _standing("92039708", 20, 10, 32, 110)  # spans both rows
    lines = group_words_into_lines([margin, *rows])
    assert sorted(ln.text for ln in lines) == ["92039708", "Date", "Total due"]
    assert [ln.text for ln in layout_blocks([margin, *rows])[0].lines if ln.text_angle == 90] == ["92039708"]
