"""textlens as OCRmyPDF's OCR engine (``ocrmypdf --plugin textlens.ocrmypdf``): end to end on a real manual
rasterised to an image-only PDF, checked with pdftotext against the manual's own text; and the hooks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.real_pages import image_only_pdf, manual_pdf

ocrmypdf = pytest.importorskip("ocrmypdf", reason="ocrmypdf is not installed (the test extra)")
plugin = pytest.importorskip("textlens.ocrmypdf")


def _pdftotext(path: Path, page: int) -> list[str]:
    cmd = ["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(path), "-"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8").split()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="OCRmyPDF's built-in Tesseract plugin wants tesseract")
def test_ocrmypdf_with_the_plugin_makes_a_scanned_manual_searchable(tmp_path: Path) -> None:
    source = manual_pdf(tmp_path)
    scan = tmp_path / "scan.pdf"
    image_only_pdf(source, scan, pages=[0, 1])
    assert not _pdftotext(scan, 1)  # a scan: no text to find before OCR
    out = tmp_path / "searchable.pdf"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ocrmypdf", "--plugin", "textlens.ocrmypdf", "-j", "1"]
    cmd += ["--output-type", "pdf", "--rasterizer", "pypdfium"]  # no PDF/A, no Ghostscript needed
    done = subprocess.run([*cmd, str(scan), str(out)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]

    document = pdfium.PdfDocument(str(out))
    try:
        assert len(document) == 2
        assert "textlens" in document.get_metadata_dict().get("Creator", "")
    finally:
        document.close()
    for page in (1, 2):
        expected, got = _pdftotext(source, page), _pdftotext(out, page)
        # Every word pdftotext finds on the manual's page is a word apart in the OCR'd page too (no glued
        # neighbours), and nearly all of its plain words are read back.
        assert 0.9 * len(expected) <= len(got) <= 1.15 * len(expected)
        plain = {w for w in expected if re.fullmatch("[a-z]{4,}", w)}
        assert len(plain & set(got)) >= 0.9 * len(plain)


def test_the_plugin_answers_for_the_auto_engine_only() -> None:
    class Options:
        ocr_engine = "auto"

    assert isinstance(plugin.get_ocr_engine(Options()), plugin.TextlensOcrEngine)
    assert isinstance(plugin.get_ocr_engine(None), plugin.TextlensOcrEngine)
    Options.ocr_engine = "tesseract"
    assert plugin.get_ocr_engine(Options()) is None


def test_check_options_picks_the_textlens_text_layer_and_checks_the_languages() -> None:
    from ocrmypdf.exceptions import BadArgsError

    class Options:
        def __init__(self) -> None:
            self.pdf_renderer = "auto"
            self.languages = ["eng"]
            self.textlens_min_confidence: float | None = None

    options = Options()
    plugin.check_options(options)
    assert options.pdf_renderer == "sandwich"
    options.pdf_renderer = "fpdf2"  # asked for by name: kept, and fed textlens's hOCR
    plugin.check_options(options)
    assert options.pdf_renderer == "fpdf2"
    options.languages = ["klingon"]
    with pytest.raises(BadArgsError, match="unknown language"):
        plugin.check_options(options)
    options.languages, options.textlens_min_confidence = ["eng"], 1.5
    with pytest.raises(BadArgsError, match="between 0 and 1"):
        plugin.check_options(options)


def test_tesseract_language_codes_become_textlens_languages() -> None:
    assert plugin.textlens_lang(["eng"]) == "en"
    assert plugin.textlens_lang(["deu"]) == "de"
    assert plugin.textlens_lang(["fr"]) == "fr"
    assert plugin.textlens_lang(["eng", "fra"]) == "auto"
    assert plugin.textlens_lang([]) is None
    assert {"eng", "deu", "vie", "en"} <= plugin.TextlensOcrEngine.languages(None)
    assert set(plugin.TESSERACT_CODES.values()) <= plugin.TextlensOcrEngine.languages(None)


def test_generate_hocr_and_generate_pdf_read_the_page_image_ocrmypdf_hands_over(tmp_path: Path) -> None:
    from ocrmypdf.hocrtransform import HocrParser
    from PIL import Image

    from tests.real_pages import read_manual_page

    _, image = read_manual_page()
    png = tmp_path / "000001_ocr.png"
    Image.fromarray(image).save(png, dpi=(200, 200))

    class Options:
        def __init__(self) -> None:
            self.languages = ["eng"]

    engine = plugin.TextlensOcrEngine()
    engine.generate_hocr(png, tmp_path / "page.hocr", tmp_path / "page.txt", Options())
    page = HocrParser(tmp_path / "page.hocr").parse()
    assert (page.bbox.right, page.bbox.bottom, page.dpi) == (image.shape[1], image.shape[0], 200)
    words = [w.text for par in page.children for line in par.children for w in line.children]
    assert len(words) > 80
    assert (tmp_path / "page.txt").read_text(encoding="utf-8").split()[:3] == words[:3]

    engine.generate_pdf(png, tmp_path / "page.pdf", tmp_path / "page2.txt", Options())
    document = pdfium.PdfDocument(str(tmp_path / "page.pdf"))
    try:  # sized to the image at its resolution, as OCRmyPDF grafts it
        assert document[0].get_size() == pytest.approx((image.shape[1] * 72 / 200, image.shape[0] * 72 / 200), abs=0.01)
        assert document[0].get_textpage().get_text_range().split() == words
    finally:
        document.close()
