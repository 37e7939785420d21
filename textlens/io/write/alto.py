"""ALTO v4 writer: Description (pixel units, source image, OCR processing) and Layout/Page/PrintSpace/
TextBlock/TextLine/String with SP between words. Coordinates are page pixels, WC is confidence 0-1; a page's
language (``Page.lang``) is each of its TextBlocks' ``LANG``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

import numpy as np

from textlens.document import Box, Document, Line, Page, union_box
from textlens.io.write._common import xml_safe

NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _num(value: float) -> str:
    """A coordinate as ALTO float text: integers without a trailing .0, else two decimals."""
    value = round(float(value), 2)
    return str(int(value)) if value == int(value) else f"{value:g}"


def _geometry(element: ET.Element, box: Box) -> ET.Element:
    x0, y0, x1, y1 = box
    element.set("HPOS", _num(x0))
    element.set("VPOS", _num(y0))
    element.set("WIDTH", _num(x1 - x0))
    element.set("HEIGHT", _num(y1 - y0))
    return element


def _description(root: ET.Element, document: Document) -> None:
    description = ET.SubElement(root, _tag("Description"))
    ET.SubElement(description, _tag("MeasurementUnit")).text = "pixel"
    info = ET.SubElement(description, _tag("sourceImageInformation"))
    source = next((p.source for p in document.pages if p.source), "")
    ET.SubElement(info, _tag("fileName")).text = xml_safe(source)
    processing = ET.SubElement(description, _tag("OCRProcessing"), ID="OCR_0")
    step = ET.SubElement(processing, _tag("ocrProcessingStep"))
    software = ET.SubElement(step, _tag("processingSoftware"))
    ET.SubElement(software, _tag("softwareName")).text = "textlens"
    version = document.metadata.get("version")
    if version:
        ET.SubElement(software, _tag("softwareVersion")).text = xml_safe(str(version))


def _line(parent: ET.Element, line: Line, ids: dict[str, int], page_no: int) -> None:
    assert line.box is not None
    ids["line"] += 1
    element = _geometry(ET.SubElement(parent, _tag("TextLine"), ID=f"line_{page_no}_{ids['line']}"), line.box)
    for i, word in enumerate(line.words):
        if i:
            prev = line.words[i - 1]
            space = ET.SubElement(element, _tag("SP"))
            space.set("WIDTH", _num(max(word.box[0] - prev.box[2], 0.0)))
            space.set("VPOS", _num(min(prev.box[1], word.box[1])))
            space.set("HPOS", _num(prev.box[2]))
        ids["word"] += 1
        string = ET.SubElement(element, _tag("String"), ID=f"string_{page_no}_{ids['word']}")
        string.set("CONTENT", xml_safe(word.text))
        _geometry(string, word.box)
        string.set("WC", f"{min(max(word.confidence, 0.0), 1.0):.4g}")
        if word.polygon is not None and len(word.polygon) > 4:  # curved text: the word's outline (Shape/Polygon)
            shape = ET.SubElement(ET.SubElement(string, _tag("Shape")), _tag("Polygon"))
            shape.set("POINTS", " ".join(f"{_num(x)},{_num(y)}" for x, y in word.polygon))


def _page(layout: ET.Element, page: Page, page_no: int) -> None:
    element = ET.SubElement(
        layout,
        _tag("Page"),
        ID=f"page_{page_no}",
        PHYSICAL_IMG_NR=str(page_no),
        WIDTH=str(page.width),
        HEIGHT=str(page.height),
    )
    boxes = [b.box for b in page.blocks if b.box is not None]
    print_box = union_box(boxes) if boxes else (0.0, 0.0, float(page.width), float(page.height))
    print_space = _geometry(ET.SubElement(element, _tag("PrintSpace")), print_box)
    ids = {"line": 0, "word": 0}
    for b, block in enumerate(page.blocks, start=1):
        assert block.box is not None
        text_block = _geometry(ET.SubElement(print_space, _tag("TextBlock"), ID=f"block_{page_no}_{b}"), block.box)
        if page.lang:  # ALTO 4.2 records a language on TextBlock, TextLine and String (Page only from 4.4)
            text_block.set("LANG", xml_safe(page.lang))
        for line in block.lines:
            _line(text_block, line, ids, page_no)


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> str:
    """The document as an ALTO v4 XML string (``images`` is ignored)."""
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(_tag("alto"), {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    _description(root, document)
    layout = ET.SubElement(root, _tag("Layout"))
    for number, page in enumerate(document.pages, start=1):
        _page(layout, page, number)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
