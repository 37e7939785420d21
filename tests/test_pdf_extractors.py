"""The searchable PDF read back by the PDF text extractors people use: pdftotext (poppler), pdfium (pypdfium2)
and pdfminer.six must give back the Document's words, with spaces between them and lines in reading order,
on a real printed page read by textlens and on boxes that touch or overlap."""

from __future__ import annotations

import difflib
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from tests.real_pages import read_manual_page
from textlens.document import Block, Document, Line, Page, Word
from textlens.io.write import render

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


def _joined(words: list[str]) -> list[str]:
    """Words with a line-end hyphenation joined (``iden-`` ``tifier.`` → ``identifier.``), as pdftotext and
    pdfium do by themselves (pdfium marks the join with U+FFFE), so both sides compare alike."""
    out: list[str] = []
    for word in words:
        word = word.replace("\ufffe", "")
        if out and out[-1].endswith("-") and len(out[-1]) > 1:
            out[-1] = out[-1][:-1] + word
        else:
            out.append(word)
    return out


def _doc_words(document: Document) -> list[str]:
    return _joined([w.text for page in document.pages for line in page.lines for w in line.words])


def _in_order(expected: list[str], got: list[str]) -> float:
    """The share of the expected words found in the same order."""
    matcher = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(expected), 1)


def _pdftotext(path: Path, *options: str) -> list[str]:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", *options, str(path), "-"], capture_output=True, check=True)
    return _joined(done.stdout.decode("utf-8").split())


def _pdfium(path: Path) -> list[str]:
    document = pdfium.PdfDocument(str(path))
    try:
        return _joined(" ".join(page.get_textpage().get_text_range() for page in document).split())
    finally:
        document.close()


def _pdfminer(path: Path) -> list[str]:
    high_level = pytest.importorskip("pdfminer.high_level", reason="pdfminer.six is not installed (dev extra)")
    return _joined(high_level.extract_text(str(path)).split())


@pytest.fixture(scope="module")
def read_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Document, Path]:
    """The first page of a real manual, read by textlens and written as a searchable PDF with its image."""
    document, image = read_manual_page()
    path = tmp_path_factory.mktemp("real-page") / "searchable.pdf"
    path.write_bytes(render(document, "pdf", images=[image]))
    return document, path


@needs_pdftotext
def test_pdftotext_gives_back_every_word_of_a_real_page(read_page: tuple[Document, Path]) -> None:
    document, path = read_page
    expected = _doc_words(document)
    assert _pdftotext(path, "-raw") == expected  # content order: exactly the Document's words and order
    got = _pdftotext(path)  # pdftotext's own reading order (the default) regroups lines by their geometry
    assert Counter(got) == Counter(expected)
    assert _in_order(expected, got) > 0.85


def test_pdfium_gives_back_every_word_of_a_real_page_in_order(read_page: tuple[Document, Path]) -> None:
    document, path = read_page
    assert _pdfium(path) == _doc_words(document)


def test_pdfminer_gives_back_every_word_of_a_real_page(read_page: tuple[Document, Path]) -> None:
    document, path = read_page
    expected, got = _doc_words(document), _pdfminer(path)
    assert Counter(got) == Counter(expected)
    assert _in_order(expected, got) > 0.95  # pdfminer orders its text boxes by its own layout analysis


def _touching_words(gap: float) -> Document:
    """Two lines of words whose boxes are ``gap`` line heights apart (negative: overlapping), as the
    pipeline's boxes with their margins often are."""
    lines = []
    for row, texts in enumerate((["alpha", "beta", "gamma", "delta"], ["one", "(", "e.", "three"])):
        words, x = [], 40.0
        for text in texts:
            width = 18.0 * len(text)
            words.append(Word(text=text, box=(x, 40 + row * 50, x + width, 80 + row * 50), confidence=0.9))
            x += width + gap * 40
        lines.append(Line(words=tuple(words)))
    return Document(pages=(Page(width=600, height=160, dpi=200, blocks=(Block(lines=tuple(lines)),)),))


@pytest.mark.parametrize("gap", [-0.1, 0.0, 0.05, 0.3])
def test_words_whose_boxes_touch_come_back_apart_from_every_extractor(gap: float, tmp_path: Path) -> None:
    document = _touching_words(gap)
    path = tmp_path / "touching.pdf"
    path.write_bytes(render(document, "pdf", images=[np.full((160, 600, 3), 255, np.uint8)]))
    expected = ["alpha", "beta", "gamma", "delta", "one", "(", "e.", "three"]
    assert _pdfium(path) == expected
    assert _pdfminer(path) == expected
    if shutil.which("pdftotext"):
        assert _pdftotext(path) == expected
        assert _pdftotext(path, "-raw") == expected


def test_each_word_is_stretched_to_its_box_with_a_space_glyph_after_it(tmp_path: Path) -> None:
    pdf = pdfium.PdfDocument(render(_touching_words(0.3), "pdf"))
    textpage = pdf[0].get_textpage()
    text = textpage.get_text_range()
    assert text.replace("\r\n", "\n") == "alpha beta gamma delta \none ( e. three "
    scale = 72 / 200
    first = [textpage.get_charbox(i) for i in range(5)]  # "alpha": its glyphs span its box (40..130 px)
    assert first[0][0] == pytest.approx(40 * scale, abs=1.0)
    assert first[-1][2] == pytest.approx(130 * scale, abs=1.5)
