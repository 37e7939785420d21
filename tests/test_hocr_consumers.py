"""The hOCR output read by its consumers: hocr-tools (``hocr-check``, ``hocr-lines``) and OCRmyPDF's hOCR
parser and renderer, on a real printed page read by textlens; and the line metrics estimated from word boxes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from tests.real_pages import read_manual_page
from textlens.document import Block, Document, Line, Page, Word
from textlens.io.write import render
from textlens.io.write.hocr import LineMetrics, line_metrics

XHTML = "{http://www.w3.org/1999/xhtml}"


def _tool(name: str) -> str:
    """A console script of the dev extra: beside this interpreter (a venv not on PATH) or on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install hocr-tools: the dev extra)")
    return found


@pytest.fixture(scope="module")
def real_hocr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Document, Path]:
    document, _ = read_manual_page()
    path = tmp_path_factory.mktemp("hocr") / "page.hocr"
    path.write_text(render(document, "hocr"), encoding="utf-8")
    return document, path


def _line_titles(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [e.get("title") or "" for e in root.iter(f"{XHTML}span") if e.get("class") == "ocr_line"]


def test_hocr_check_passes_a_real_page(real_hocr: tuple[Document, Path]) -> None:
    _, path = real_hocr
    done = subprocess.run([_tool("hocr-check"), str(path)], capture_output=True, text=True, timeout=60)
    report = (done.stdout + done.stderr).splitlines()
    assert any(line.startswith("ok") and "mostly_nonoverlapping/line" in line for line in report)
    assert not [line for line in report if line.startswith("not ok")]


def test_hocr_lines_gives_the_documents_lines_in_order(real_hocr: tuple[Document, Path]) -> None:
    document, path = real_hocr
    done = subprocess.run([_tool("hocr-lines"), str(path)], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == [line.text for line in document.pages[0].lines]


def test_line_boxes_hold_their_words_and_carry_a_baseline(real_hocr: tuple[Document, Path]) -> None:
    document, path = real_hocr
    titles = _line_titles(path)
    assert len(titles) == len(document.pages[0].lines)
    with_baseline = 0
    for title, line in zip(titles, document.pages[0].lines, strict=True):
        x0, y0, _, y1 = map(int, re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", title).groups())
        assert (x0, y0) == (min(int(w.box[0]) for w in line.words), min(int(w.box[1]) for w in line.words))
        baseline = re.search(r"baseline (-?[\d.]+) (-?\d+)", title)
        if baseline:
            with_baseline += 1
            assert -(y1 - y0) <= int(baseline.group(2)) <= 0  # on the line, measured up from its bottom
            assert abs(float(baseline.group(1))) <= 0.1
        size = re.search(r"x_size ([\d.]+)", title)
        if size:
            assert 0.5 * (y1 - y0) <= float(size.group(1)) <= y1 - y0
    assert with_baseline >= 0.8 * len(titles)  # running text: nearly every line has a word without descenders


def test_ocrmypdf_parses_and_renders_the_hocr(real_hocr: tuple[Document, Path], tmp_path: Path) -> None:
    pytest.importorskip("ocrmypdf", reason="ocrmypdf is not installed (the test extra)")
    from ocrmypdf.hocrtransform import HocrParser

    document, path = real_hocr
    page = HocrParser(path).parse()
    assert (page.bbox.right, page.bbox.bottom) == (document.pages[0].width, document.pages[0].height)
    assert page.dpi == pytest.approx(document.pages[0].dpi)
    lines = [line for par in page.children for line in par.children]
    assert [[w.text for w in line.children] for line in lines] == [
        [w.text for w in line.words] for line in document.pages[0].lines
    ]
    assert sum(line.baseline is not None for line in lines) >= 0.8 * len(lines)

    out = tmp_path / "ocrmypdf.pdf"
    subprocess.run(
        [sys.executable, "-m", "ocrmypdf.hocrtransform", str(path), str(out)], check=True, capture_output=True
    )
    from pdfminer.high_level import extract_text

    # OCRmyPDF draws a space after each word: a character-reading extractor gets every word back.
    assert Counter(extract_text(str(out)).split()) == Counter(w.text for w in document.pages[0].words)


def _line(*words: tuple[str, float, float, float, float]) -> Line:
    return Line(tuple(Word(text=t, box=(x0, y0, x1, y1), confidence=0.9) for t, x0, y0, x1, y1 in words))


def test_line_metrics_come_from_what_the_letters_are() -> None:
    # Baseline at y = 100: "use" and "name" stand on it with their x-height top at 80, "The" and "told" reach
    # the ascender line at 70, "gap" hangs to the descender line at 108.
    line = _line(
        ("The", 0, 70, 40, 100),
        ("use", 50, 80, 80, 100),
        ("gap", 90, 80, 130, 108),
        ("told", 140, 70, 180, 100),
        ("name", 190, 80, 240, 100),
    )
    metrics = line_metrics(line)
    assert metrics.slope == pytest.approx(0.0)
    assert metrics.intercept == pytest.approx(-8.0)  # the baseline 8 px above the line box's bottom (108)
    assert (metrics.x_size, metrics.x_ascenders, metrics.x_descenders) == pytest.approx((38.0, 10.0, 8.0))


def test_line_metrics_follow_a_sloping_line_and_leave_out_what_the_words_cannot_tell() -> None:
    sloping = _line(*((word, 100 * i, 70 + 5 * i, 100 * i + 60, 100 + 5 * i) for i, word in enumerate("ABCDE")))
    metrics = line_metrics(sloping)
    assert metrics.slope == pytest.approx(0.05)  # 5 px down per 100 px along
    assert metrics.intercept == pytest.approx(-20.0, abs=1.5)  # the left end's baseline, 20 px above the box bottom
    assert metrics.x_ascenders is None and metrics.x_descenders is None  # capitals only: no x-height, no descender
    # Only descending x-height letters: no baseline (every word hangs below it), no ascender line.
    assert line_metrics(_line(("gyp", 0, 0, 30, 30))) == LineMetrics() == line_metrics(_line(("--", 0, 0, 30, 30)))


def test_hocr_head_names_the_languages_and_capabilities() -> None:
    page = Page(width=100, height=50, lang="de", blocks=(Block((_line(("Haus", 5, 5, 60, 30)),)),))
    hocr = render(Document(pages=(page,)), "hocr")
    head = ET.fromstring(hocr.encode("utf-8")).find(f"{XHTML}head")
    assert head is not None
    metas = {m.get("name"): m.get("content") for m in head.iter(f"{XHTML}meta") if m.get("name")}
    assert metas["ocr-langs"] == "de"
    assert metas["ocr-number-of-pages"] == "1"
    assert set(metas["ocr-capabilities"].split()) >= {"ocr_line", "ocrx_word", "ocrp_wconf", "ocrp_lang"}
    unknown = render(Document(pages=(Page(width=100, height=50, blocks=()),)), "hocr")
    assert "ocr-langs" not in unknown and "ocrp_lang" not in unknown
