"""Tests for textlens.io.write: every output format, rendered from a hand-built two-page document."""

from __future__ import annotations

import importlib
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from textlens.document import Block, Document, Line, Page, Word
from textlens.errors import ConfigError, OutputError
from textlens.io.write import FORMATS, overlay_paths, render, write

ALTO_NS = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
XHTML = "{http://www.w3.org/1999/xhtml}"
PAGE_SIZES = [(600, 400), (500, 300)]
DPIS = [150.0, None]  # the second page's DPI is unknown, so writers assume 300


def _word(
    text: str,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    conf: float = 0.95,
    polygon: tuple[tuple[float, float], ...] | None = None,
) -> Word:
    return Word(text=text, box=(x0, y0, x1, y1), confidence=conf, polygon=polygon)


@pytest.fixture
def doc() -> Document:
    line1 = Line(
        (_word("Café", 50, 40, 170, 80), _word("naïve", 190, 40, 320, 80, 0.7), _word("€5", 340, 40, 400, 80, 0.3))
    )
    skewed = ((160.0, 100.0), (240.0, 102.5), (240.0, 140.0), (160.0, 138.0))
    line2 = Line((_word("it's", 50, 100, 140, 140), _word("<&>", 160, 100, 240, 140, 0.88, skewed)))
    line3 = Line((_word("Ελληνικά", 50, 220, 300, 260), _word("日本", 320, 220, 400, 260)))
    page1 = Page(
        width=600,
        height=400,
        blocks=(Block((line1, line2)), Block((line3,))),
        index=0,
        dpi=150.0,
        source='scan "1" <a&b>.png',
    )
    line4 = Line((_word("second", 20.5, 20, 150, 60, 0.5), _word("page", 170, 20, 260, 60)))
    page2 = Page(width=500, height=300, blocks=(Block((line4,)),), index=1)
    return Document(pages=(page1, page2), metadata={"engine": "test", "score": np.float32(0.5)})


@pytest.fixture
def images() -> list[np.ndarray]:
    """Mid-grey pages with a dark bar in the first word's box, so drawings and images are visible."""
    out = []
    for width, height in PAGE_SIZES:
        image = np.full((height, width, 3), 200, np.uint8)
        image[45:75, 55:165] = (30, 30, 30)
        out.append(image)
    return out


def _words(document: Document) -> list[list[str]]:
    return [[w.text for w in page.words] for page in document.pages]


# ---------------------------------------------------------------- registry


def test_every_format_renders_str_or_bytes_as_its_table_says(doc: Document) -> None:
    assert set(FORMATS) == {"text", "json", "hocr", "alto", "tsv", "pdf", "overlay"}
    for fmt, (extension, binary) in FORMATS.items():
        out = render(doc, fmt)
        assert isinstance(out, bytes if binary else str), fmt
        assert extension.startswith(".") and out


def test_unknown_format_is_a_config_error(doc: Document) -> None:
    with pytest.raises(ConfigError, match="unknown output format 'docx'"):
        render(doc, "docx")


def test_image_count_must_match_page_count(doc: Document, images: list[np.ndarray]) -> None:
    with pytest.raises(OutputError, match="1 page images for a document of 2 pages"):
        render(doc, "pdf", images[:1])


# ---------------------------------------------------------------- text


def test_text_is_in_reading_order_with_blank_lines_between_blocks_and_form_feeds_between_pages(doc: Document) -> None:
    assert render(doc, "text") == "Café naïve €5\nit's <&>\n\nΕλληνικά 日本\n\fsecond page\n"


def _lines_document(*blocks: list[str]) -> Document:
    """A page whose blocks hold these lines, one word box per word, lines 40 px apart."""
    built, y = [], 0.0
    for lines in blocks:
        block_lines = []
        for text in lines:
            x, words = 10.0, []
            for token in text.split():
                words.append(_word(token, x, y, x + 12 * len(token), y + 30))
                x += 12 * len(token) + 10
            block_lines.append(Line(tuple(words)))
            y += 40
        built.append(Block(tuple(block_lines)))
        y += 60
    return Document(pages=(Page(width=800, height=int(y) + 10, blocks=tuple(built)),))


def test_text_joins_a_word_broken_by_a_hyphen_at_a_line_end() -> None:
    document = _lines_document(["the infor-", "mation is here", "and soft\u00ad", "ware too"])
    assert render(document, "text") == "the information\nis here\nand software\ntoo\n"
    # Off: the words as read, as every geometry format keeps them.
    assert render(document, "text", dehyphenate=False) == "the infor-\nmation is here\nand soft\u00ad\nware too\n"
    assert [w.text for w in document.pages[0].words][:3] == ["the", "infor-", "mation"]


def test_dehyphenation_leaves_capitals_digits_dashes_and_block_ends_alone() -> None:
    document = _lines_document(
        ["ISO-", "8859 and Region-", "Based", "a dash -", "next line", "options--", "foo", "end-"], ["of block"]
    )
    assert render(document, "text") == (
        "ISO-\n8859 and Region-\nBased\na dash -\nnext line\noptions--\nfoo\nend-\n\nof block\n"
    )


def test_dehyphenation_keeps_the_hyphen_of_a_compound_the_document_spells_with_one() -> None:
    document = _lines_document(["a Region-", "based parser", "is a region-based reader"])
    assert render(document, "text") == "a Region-based\nparser\nis a region-based reader\n"


def test_dehyphenation_chains_over_a_line_that_is_only_a_continuation() -> None:
    document = _lines_document(["one infor-", "ma-", "tion, two"])
    assert render(document, "text") == "one information,\ntwo\n"


def test_dehyphenation_changes_no_geometry_format() -> None:
    document = _lines_document(["the infor-", "mation is here"])
    for fmt in ("json", "hocr", "alto", "tsv"):
        assert render(document, fmt, dehyphenate=False) == render(document, fmt), fmt
        assert "infor-" in str(render(document, fmt)), fmt


# ---------------------------------------------------------------- json


def test_json_round_trips_polygons_unicode_and_metadata(doc: Document) -> None:
    text = render(doc, "json")
    assert "Café" in text and "日本" in text  # not \u-escaped
    data = json.loads(text)
    assert data["schema"] == 1
    assert data["metadata"] == {"engine": "test", "score": 0.5}
    back = Document.from_dict(data)
    assert back.pages == doc.pages
    assert back.pages[0].blocks[0].lines[1].words[1].polygon == (
        (160.0, 100.0),
        (240.0, 102.5),
        (240.0, 140.0),
        (160.0, 138.0),
    )


def test_json_example_in_the_docs_is_what_the_writer_produces() -> None:
    doc_page = Path(__file__).resolve().parents[1] / "docs" / "document-json.md"
    example = json.loads(doc_page.read_text(encoding="utf-8").split("```json\n")[1].split("```")[0])
    assert json.loads(render(Document.from_dict(example), "json")) == example


def test_json_refuses_metadata_it_cannot_store(doc: Document) -> None:
    bad = Document(pages=doc.pages, metadata={"model": object()})
    with pytest.raises(OutputError, match="metadata holds a object"):
        render(bad, "json")


# ---------------------------------------------------------------- hOCR


def _title(element: ET.Element) -> dict[str, str]:
    parts = (p.strip().split(" ", 1) for p in element.get("title", "").split(";") if p.strip())
    return {key: value for key, value in parts}


def test_hocr_is_xhtml_with_the_hocr_hierarchy_and_escaped_text(doc: Document) -> None:
    root = ET.fromstring(render(doc, "hocr").encode("utf-8"))
    assert root.tag == f"{XHTML}html"
    metas = {m.get("name"): m.get("content") for m in root.iter(f"{XHTML}meta") if m.get("name")}
    assert metas["ocr-system"] == "textlens"
    assert "ocrx_word" in metas["ocr-capabilities"].split()

    def by_class(parent: ET.Element, cls: str) -> list[ET.Element]:
        return [e for e in parent.iter() if e.get("class") == cls]

    pages = by_class(root, "ocr_page")
    assert len(pages) == 2
    assert _title(pages[0]) == {
        "image": '"scan 1 <a&b>.png"',  # quotes cannot be carried
        "bbox": "0 0 600 400",
        "ppageno": "0",
        "scan_res": "150 150",  # the page's DPI; the second page's is unknown, so it has none
    }
    assert _title(pages[1]) == {"bbox": "0 0 500 300", "ppageno": "1"}
    for page, expected in zip(pages, doc.pages, strict=True):
        areas = [e for e in page if e.get("class") == "ocr_carea"]
        assert len(areas) == len(expected.blocks)
        for area in areas:  # carea > par > line > word, each level directly inside the previous
            pars = [e for e in area if e.get("class") == "ocr_par"]
            assert len(pars) == 1
            assert all(e.get("class") == "ocr_line" for e in pars[0])
            assert all(w.get("class") == "ocrx_word" for line in pars[0] for w in line)
        assert len(by_class(page, "ocr_line")) == len(expected.lines)
        words = by_class(page, "ocrx_word")
        assert [w.text for w in words] == [w.text for w in expected.words]
    word = by_class(pages[0], "ocrx_word")[4]
    assert word.text == "<&>"
    assert _title(word) == {"bbox": "160 100 240 140", "poly": "160 100 240 102 240 140 160 138", "x_wconf": "88"}
    assert _title(by_class(pages[1], "ocrx_word")[0]) == {"bbox": "20 20 150 60", "x_wconf": "50"}
    assert _title(by_class(pages[0], "ocr_line")[0])["bbox"] == "50 40 400 80"  # the union of its words' boxes
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- ALTO


def test_alto_is_v4_with_description_and_page_structure(doc: Document) -> None:
    root = ET.fromstring(render(doc, "alto").encode("utf-8"))
    assert root.tag == "{http://www.loc.gov/standards/alto/ns-v4#}alto"
    description, layout = list(root)
    assert [c.tag.split("}")[1] for c in description] == ["MeasurementUnit", "sourceImageInformation", "OCRProcessing"]
    assert description.findtext("a:MeasurementUnit", namespaces=ALTO_NS) == "pixel"
    assert description.findtext("a:sourceImageInformation/a:fileName", namespaces=ALTO_NS) == 'scan "1" <a&b>.png'
    assert description.findtext(".//a:processingSoftware/a:softwareName", namespaces=ALTO_NS) == "textlens"
    pages = layout.findall("a:Page", ALTO_NS)
    assert [(p.get("ID"), p.get("PHYSICAL_IMG_NR"), p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [
        ("page_1", "1", "600", "400"),
        ("page_2", "2", "500", "300"),
    ]
    for page, expected in zip(pages, doc.pages, strict=True):
        assert [c.tag.split("}")[1] for c in page] == ["PrintSpace"]
        blocks = page.findall("a:PrintSpace/a:TextBlock", ALTO_NS)
        assert len(blocks) == len(expected.blocks)
        lines = page.findall(".//a:TextLine", ALTO_NS)
        assert len(lines) == len(expected.lines)
        for line, expected_line in zip(lines, expected.lines, strict=True):
            kinds = [c.tag.split("}")[1] for c in line]
            assert kinds == ["String", "SP"] * (len(expected_line.words) - 1) + ["String"]
        strings = page.findall(".//a:String", ALTO_NS)
        assert [s.get("CONTENT") for s in strings] == [w.text for w in expected.words]
        for string, word in zip(strings, expected.words, strict=True):
            x0, y0, x1, y1 = word.box
            assert [float(string.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == pytest.approx(
                [x0, y0, x1 - x0, y1 - y0]
            )
            assert float(string.get("WC")) == pytest.approx(word.confidence)
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- TSV


def test_tsv_has_tesseract_columns_and_levels(doc: Document) -> None:
    rows = [r.split("\t") for r in render(doc, "tsv").rstrip("\n").split("\n")]
    assert rows[0] == [
        "level",
        "page_num",
        "block_num",
        "par_num",
        "line_num",
        "word_num",
        "left",
        "top",
        "width",
        "height",
        "conf",
        "text",
    ]
    assert all(len(r) == 12 for r in rows)
    body = rows[1:]
    levels = [r[0] for r in body]
    assert levels[:10] == ["1", "2", "3", "4", "5", "5", "5", "4", "5", "5"]
    assert levels.count("1") == 2 and levels.count("2") == levels.count("3") == 3
    assert levels.count("4") == 4 and levels.count("5") == 9
    assert all(r[10] == "-1" and r[11] == "" for r in body if r[0] != "5")
    words = [r for r in body if r[0] == "5"]
    assert [r[11] for r in words] == [w for page in _words(doc) for w in page]
    assert words[1] == ["5", "1", "1", "1", "1", "2", "190", "40", "130", "40", "70.00", "naïve"]
    assert words[3][1:6] == ["1", "1", "1", "2", "1"]  # "it's": line 2 of block 1, first word
    assert words[7][:6] == ["5", "2", "1", "1", "1", "1"]  # numbering restarts on page 2
    assert body[0][6:10] == ["0", "0", "600", "400"]


# ---------------------------------------------------------------- PDF


def _pdf_words(pdf: bytes) -> list[list[str]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range().split() for page in document]
    finally:
        document.close()


def test_pdf_text_layer_extracts_the_words_in_order_with_unicode(doc: Document, images: list[np.ndarray]) -> None:
    pdf = render(doc, "pdf", images)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert _pdf_words(pdf) == _words(doc)


def test_pdf_page_size_follows_dpi_with_300_when_unknown(doc: Document) -> None:
    document = pdfium.PdfDocument(render(doc, "pdf"))
    assert [document[i].get_size() for i in range(2)] == [pytest.approx((288.0, 192.0)), pytest.approx((120.0, 72.0))]


def test_pdf_places_each_word_inside_its_box(doc: Document) -> None:
    document = pdfium.PdfDocument(render(doc, "pdf"))
    for page, expected in zip(document, doc.pages, strict=True):
        scale = 72.0 / (expected.dpi or 300.0)
        height = expected.height * scale
        textpage = page.get_textpage()
        for word in expected.words:
            x0, y0, x1, y1 = (v * scale for v in word.box)
            found = textpage.get_text_bounded(left=x0, bottom=height - y1, right=x1, top=height - y0)
            assert found.strip() == word.text


def test_pdf_shows_the_page_image_and_a_white_page_without_one(doc: Document, images: list[np.ndarray]) -> None:
    with_image = pdfium.PdfDocument(render(doc, "pdf", images))
    shown = np.asarray(with_image[0].render(scale=150 / 72).to_pil().convert("RGB")).astype(int)
    assert shown.shape[:2] == (400, 600)
    assert np.abs(shown - images[0]).mean() < 3  # JPEG-close to the source; invisible text adds nothing
    blank = pdfium.PdfDocument(render(doc, "pdf"))
    assert np.asarray(blank[1].render().to_pil().convert("L")).min() == 255


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_pdftotext_extracts_the_same_words(doc: Document, tmp_path: Path) -> None:
    path = write(doc, tmp_path / "out.pdf", "pdf")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    pages = out.stdout.decode("utf-8").split("\f")
    assert [p.split() for p in pages[:2]] == _words(doc)


def _page_with_standing_words() -> Page:
    up = _word("92039708", 20, 20, 50, 220, polygon=((20, 220), (20, 20), (50, 20), (50, 220)))
    down = _word("INV-4417", 400, 20, 430, 220, polygon=((430, 20), (430, 220), (400, 220), (400, 20)))
    return Page(width=450, height=240, blocks=(Block((Line((up,)), Line((down,)))),))


def test_pdf_draws_words_up_and_down_the_page_along_their_boxes() -> None:
    page = _page_with_standing_words()
    textpage = pdfium.PdfDocument(render(Document(pages=(page,)), "pdf"))[0].get_textpage()
    scale, height = 72.0 / 300.0, 240 * 72.0 / 300.0
    assert textpage.get_text_range().split() == ["92039708", "INV-4417"]
    for word, first, last in ((page.words[0], 0, 7), (page.words[1], 8, 15)):
        x0, y0, x1, y1 = (v * scale for v in word.box)
        boxes = [
            textpage.get_charbox(i)
            for i in range(textpage.count_chars())
            if not textpage.get_text_range(i, 1).isspace()
        ]
        glyphs = boxes[first : last + 1]
        assert all(x0 - 0.5 <= b[0] and b[2] <= x1 + 0.5 for b in glyphs)  # across the box
        assert all(height - y1 - 0.5 <= b[1] and b[3] <= height - y0 + 0.5 for b in glyphs)  # along it
        bottoms = [b[1] for b in glyphs]
        # Up the page the first character is lowest (PDF y grows upwards); down the page it is highest.
        assert bottoms == sorted(bottoms, reverse=word.text_angle == 270)


def test_hocr_gives_standing_lines_their_text_angle() -> None:
    root = ET.fromstring(render(Document(pages=(_page_with_standing_words(),)), "hocr").encode("utf-8"))
    titles = [e.get("title") or "" for e in root.iter(f"{XHTML}span") if e.get("class") == "ocr_line"]
    assert [t.rsplit(";", 1)[-1].strip() for t in titles] == ["textangle 90", "textangle 270"]


def test_pdf_right_to_left_words_extract_in_logical_order() -> None:
    words = [
        _word("עברית", 20, 10, 130, 40),
        _word("بالعالم", 150, 10, 280, 40),
        _word("مرحبا", 300, 10, 400, 40),
        _word("سنة٢٠٢٤", 20, 60, 200, 90),
    ]
    page = Page(width=450, height=100, blocks=(Block((Line(tuple(words[:3])), Line((words[3],)))),))
    lines = pdfium.PdfDocument(render(Document(pages=(page,)), "pdf"))[0].get_textpage().get_text_range()
    # An RTL line reads from the right: the rightmost word comes first.
    assert lines.split() == ["مرحبا", "بالعالم", "עברית", "سنة٢٠٢٤"]


def test_pdf_falls_back_to_helvetica_without_a_truetype_font(doc: Document, monkeypatch: pytest.MonkeyPatch) -> None:
    # textlens.io re-exports the write() function under the package's name, so patch the module object.
    monkeypatch.setattr(importlib.import_module("textlens.io.write.pdf"), "find_font_file", lambda: None)
    pdf = render(doc, "pdf")
    assert b"/Helvetica" in pdf and b"FontFile2" not in pdf
    words = _pdf_words(pdf)
    assert words[1] == ["second", "page"]
    assert words[0][:2] == ["Café", "naïve"]  # Windows-1252 covers Latin-1 accents and the euro
    assert words[0][2] == "€5"


def test_pdf_of_an_empty_document_is_refused() -> None:
    with pytest.raises(OutputError, match="no pages"):
        render(Document(pages=()), "pdf")


# ---------------------------------------------------------------- overlay


def test_overlay_is_a_png_of_the_page_with_boxes_drawn(doc: Document, images: list[np.ndarray]) -> None:
    single = Document(pages=doc.pages[:1])
    drawn = np.asarray(Image.open(io.BytesIO(render(single, "overlay", images[:1]))).convert("RGB"))
    assert drawn.shape == (400, 600, 3)
    source = images[0].astype(int)
    assert np.abs(drawn[60:70, 360:380].astype(int) - source[60:70, 360:380]).max() > 20  # inside "€5"
    assert (drawn[350:400, 500:600] == source[350:400, 500:600]).all()  # far from every word
    red, green, _ = drawn[60, 370].astype(int)  # low confidence: tinted red
    assert red > green


def test_overlay_without_an_image_draws_on_white(doc: Document) -> None:
    drawn = np.asarray(Image.open(io.BytesIO(render(doc, "overlay"))).convert("RGB"))
    assert drawn.shape == (700, 600, 3)  # two pages stacked: 400 + 300 high, 600 wide
    assert (drawn[380:400, 580:600] == 255).all()


def test_overlay_write_stores_one_png_per_page(doc: Document, images: list[np.ndarray], tmp_path: Path) -> None:
    first = write(doc, tmp_path / "scan.png", "overlay", images)
    expected = overlay_paths(tmp_path / "scan.png", 2)
    assert expected == [tmp_path / "scan-p1.png", tmp_path / "scan-p2.png"]
    assert first == expected[0]
    sizes = [Image.open(p).size for p in expected]
    assert sizes == PAGE_SIZES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan-p1.png", "scan-p2.png"]


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("fmt", ["text", "json", "hocr", "alto", "tsv", "pdf"])
def test_write_stores_exactly_what_render_returns(doc: Document, fmt: str, tmp_path: Path) -> None:
    path = write(doc, tmp_path / "sub" / f"out{FORMATS[fmt][0]}", fmt)
    assert path.parent.name == "sub"
    data = render(doc, fmt)
    assert path.read_bytes() == (data.encode("utf-8") if isinstance(data, str) else data)


def test_failed_render_leaves_no_partial_or_temporary_file(
    doc: Document, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = importlib.import_module("textlens.io.write.pdf")
    old = tmp_path / "kept.pdf"
    old.write_bytes(b"previous")

    def broken(document: Document, images: object = None) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(pdf, "render", broken)
    for target in (tmp_path / "new.pdf", old):
        with pytest.raises(RuntimeError, match="renderer crashed"):
            write(doc, target, "pdf")
    assert [p.name for p in tmp_path.iterdir()] == ["kept.pdf"]
    assert old.read_bytes() == b"previous"


def test_failed_disk_write_leaves_no_temporary_file(
    doc: Document, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textlens.io.atomic as atomic

    def failing_fsync(tmp: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync", failing_fsync)
    with pytest.raises(OutputError, match="No space left"):
        write(doc, tmp_path / "out.txt", "text")
    assert list(tmp_path.iterdir()) == []
