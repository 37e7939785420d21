"""The document tree: geometry, text angles and the to_dict/from_dict round trip (layout: test_layout.py)."""

from __future__ import annotations

import json

import pytest

from textlens.document import Block, Document, Line, Page, Word
from textlens.errors import AnnotationError


def word(text: str, x0: float, y0: float, x1: float, y1: float, conf: float = 0.9) -> Word:
    return Word(text=text, box=(x0, y0, x1, y1), confidence=conf)


def test_line_and_block_boxes_are_unions_of_their_words() -> None:
    line = Line(words=(word("a", 10, 10, 20, 20), word("b", 30, 8, 50, 22)))
    assert line.box == (10, 8, 50, 22)
    assert line.text == "a b"
    block = Block(lines=(line, Line(words=(word("c", 5, 40, 9, 50),))))
    assert block.box == (5, 8, 50, 50)
    assert block.text == "a b\nc"


def test_document_round_trips_through_json_with_polygons_and_unicode() -> None:
    w = Word(
        text="Café €5 naïve",
        box=(1.5, 2, 30, 12),
        confidence=0.8125,
        polygon=((1.5, 2.0), (30.0, 2.5), (30.0, 12.0), (1.5, 11.5)),
    )
    page = Page(
        width=100,
        height=50,
        blocks=(Block(lines=(Line(words=(w,)),)),),
        index=0,
        dpi=300.0,
        source="scan.png",
        rotation=90,
    )
    doc = Document(pages=(page, Page(width=10, height=10, index=1)), metadata={"engine": "textlens"})
    data = json.loads(json.dumps(doc.to_dict(), ensure_ascii=False))
    again = Document.from_dict(data)
    assert again == doc
    assert again.pages[0].words[0].polygon == w.polygon
    assert data["schema"] == 1


def test_from_dict_rejects_malformed_boxes() -> None:
    with pytest.raises(AnnotationError, match="4 numbers"):
        Word.from_dict({"text": "x", "box": [1, 2, 3]})
    with pytest.raises(AnnotationError, match="x1 < x0"):
        Word.from_dict({"text": "x", "box": [5, 2, 3, 4]})
    with pytest.raises(AnnotationError, match="pages"):
        Document.from_dict({"nope": []})


def _standing(text: str, x0: float, y0: float, x1: float, y1: float, runs_up: bool = True) -> Word:
    """A word printed up (or down) the page: its polygon starts at the text's own top-left corner."""
    corners = ((x0, y1), (x0, y0), (x1, y0), (x1, y1)) if runs_up else ((x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return Word(text=text, box=(x0, y0, x1, y1), polygon=corners)


def test_text_angle_follows_the_polygons_top_edge() -> None:
    box = (10.0, 10.0, 40.0, 20.0)
    (x0, y0, x1, y1) = box
    assert Word(text="a", box=box).text_angle == 0  # no polygon
    assert Word(text="a", box=box, polygon=((x0, y0), (x1, y0), (x1, y1), (x0, y1))).text_angle == 0
    assert Word(text="a", box=box, polygon=((x1, y1), (x0, y1), (x0, y0), (x1, y0))).text_angle == 180
    assert _standing("a", 0, 0, 10, 50).text_angle == 90
    assert _standing("a", 0, 0, 10, 50, runs_up=False).text_angle == 270
    line = Line((_standing("a", 0, 0, 10, 50), _standing("b", 0, 60, 10, 90), Word(text="c", box=box)))
    assert line.text_angle == 90 and Line((Word(text="c", box=box),)).text_angle == 0
