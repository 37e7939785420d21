"""An OCRmyPDF OCR-engine plugin: ``ocrmypdf --plugin textlens.ocrmypdf scan.pdf out.pdf`` reads with textlens.

OCRmyPDF keeps everything it does around the OCR (rasterising, page rotation and deskew, PDF/A, optimisation,
``--pages``, ``--sidecar``); textlens reads each page image it hands over. Its hooks (``add_options``,
``check_options``, ``get_ocr_engine``) follow OCRmyPDF's plugin spec (``ocrmypdf.pluginspec``):

- ``generate_pdf`` writes textlens's own text-only PDF (``textlens.io.write.pdf``: invisible words stretched to
  their boxes, a space glyph and a gap between words), which OCRmyPDF grafts onto the page. ``check_options``
  picks this renderer (``--pdf-renderer sandwich``) when the user left it at ``auto``: OCRmyPDF's own renderer
  places words from the hOCR at their boxes, and touching boxes come out glued together in pdftotext.
- ``generate_hocr`` writes textlens's hOCR (``textlens.io.write.hocr``) for ``--pdf-renderer fpdf2``.

OCRmyPDF's Tesseract plugin stays loaded (OCRmyPDF 17 reads its options whichever engine runs) and checks
that the ``tesseract`` program is installed, so OCRmyPDF wants it even though textlens reads; this plugin's
``get_ocr_engine`` answers first (plugins given with ``--plugin`` are asked before the built-in ones), unless
``--ocr-engine tesseract`` or ``none`` is asked for.

Options: ``--textlens-detector`` and ``--textlens-recognizer`` (bundled names or model folders, as ``textlens read
--detector/--recognizer``) and ``--textlens-min-confidence``. OCRmyPDF's ``-l`` takes Tesseract's language codes
(``eng``, ``deu``, ``fra``...) or ISO 639-1 ones: one language is textlens's ``--lang``, several ``auto``.
This module imports OCRmyPDF; the rest of textlens never imports this module.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrmypdf import hookimpl
from ocrmypdf.exceptions import BadArgsError
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence

from textlens import __version__

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from textlens.document import Document
    from textlens.pipeline import OCR

log = logging.getLogger(__name__)

# Tesseract's codes (ISO 639-2/T, as OCRmyPDF's -l takes them) of the languages textlens reads (ISO 639-1).
TESSERACT_CODES = {
    "eng": "en", "fra": "fr", "deu": "de", "spa": "es", "ita": "it", "por": "pt", "nld": "nl", "pol": "pl",
    "ces": "cs", "slk": "sk", "hun": "hu", "ron": "ro", "tur": "tr", "swe": "sv", "dan": "da", "nor": "nb",
    "fin": "fi", "cat": "ca", "glg": "gl", "eus": "eu", "isl": "is", "est": "et", "lav": "lv", "lit": "lt",
    "slv": "sl", "hrv": "hr", "sqi": "sq", "gle": "ga", "cym": "cy", "mlt": "mt", "epo": "eo", "afr": "af",
    "ind": "id", "msa": "ms", "swa": "sw", "vie": "vi",
}  # fmt: skip


def textlens_lang(languages: list[str] | None) -> str | None:
    """textlens's ``lang`` for OCRmyPDF's ``-l`` list: one language's ISO 639-1 code, ``auto`` for several."""
    from textlens.languages import get_language

    codes = [get_language(TESSERACT_CODES.get(code.lower(), code)).code for code in languages or []]
    if not codes:
        return None
    return codes[0] if len(set(codes)) == 1 else "auto"


def _option(options: Any, name: str, default: Any = None) -> Any:
    """A plugin option: OCRmyPDF keeps options it does not know in ``extra_attrs``."""
    try:
        value = getattr(options, name)
    except AttributeError:
        return default
    return default if value is None else value


@functools.lru_cache(maxsize=2)
def _reader(detector: str | None, recognizer: str | None, lang: str | None, min_confidence: float | None) -> OCR:
    """One reader per worker process and settings: loading the models once, not per page. OCRmyPDF runs pages
    in parallel itself, so each reader uses one thread, and it hands pages over upright: no turning here."""
    from textlens.defaults import DEFAULT_MIN_CONFIDENCE
    from textlens.pipeline import OCR

    confidence = DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence
    return OCR(
        detector=detector,
        recognizer=recognizer,
        lang=lang,
        threads=1,
        orientation=False,
        min_confidence=confidence,
    )


def read_image(input_file: Path, options: Any) -> Document:
    """Read one page image OCRmyPDF rasterised, at the resolution it recorded in the image (so the text layer
    matches the page size exactly)."""
    import numpy as np
    from PIL import Image

    from textlens.document import Document
    from textlens.io.pixels import pil_to_rgb

    with Image.open(input_file) as picture:
        dpi_info = picture.info.get("dpi")
        dpi = float(dpi_info[0]) if isinstance(dpi_info, tuple) else float(dpi_info) if dpi_info else None
        image = pil_to_rgb(picture, str(input_file))
    reader = _reader(
        _option(options, "textlens_detector"),
        _option(options, "textlens_recognizer"),
        textlens_lang(list(_option(options, "languages", []) or [])),
        _option(options, "textlens_min_confidence"),
    )
    page = reader.read_page(np.ascontiguousarray(image), index=0, source=input_file.name, dpi=dpi)
    return Document(pages=(page,), metadata={"engine": "textlens"})


class TextlensOcrEngine(OcrEngine):
    """textlens as OCRmyPDF's OCR engine."""

    @staticmethod
    def version() -> str:
        return __version__

    @staticmethod
    def creator_tag(options: Any) -> str:
        return f"textlens {__version__}"

    def __str__(self) -> str:
        return f"textlens {__version__}"

    @staticmethod
    def languages(options: Any) -> set[str]:
        from textlens.languages import language_codes

        return set(TESSERACT_CODES) | set(language_codes())

    @staticmethod
    def get_orientation(input_file: Path, options: Any) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)  # no opinion: --rotate-pages leaves the page

    @staticmethod
    def get_deskew(input_file: Path, options: Any) -> float:
        return 0.0

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options: Any) -> None:
        from textlens.io.write import render

        document = read_image(input_file, options)
        output_hocr.write_text(render(document, "hocr"), encoding="utf-8")
        output_text.write_text(render(document, "text"), encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options: Any) -> None:
        from textlens.io.write import render

        document = read_image(input_file, options)
        output_pdf.write_bytes(render(document, "pdf"))  # no image: the invisible text layer alone
        output_text.write_text(render(document, "text"), encoding="utf-8")


@hookimpl
def add_options(parser: ArgumentParser) -> None:
    group = parser.add_argument_group("textlens", "Options of the textlens OCR engine")
    group.add_argument("--textlens-detector", metavar="NAME", help="bundled detector name or model folder")
    group.add_argument("--textlens-recognizer", metavar="NAME", help="bundled recogniser name or model folder")
    group.add_argument(
        "--textlens-min-confidence",
        metavar="P",
        type=float,
        help="drop words read with a lower confidence (0-1; textlens's default 0.6)",
    )


@hookimpl
def check_options(options: Any) -> None:
    try:
        textlens_lang(list(_option(options, "languages", []) or []))
    except Exception as error:  # an unknown language: textlens's message names the known ones
        raise BadArgsError(str(error)) from error
    confidence = _option(options, "textlens_min_confidence")
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise BadArgsError("--textlens-min-confidence must lie between 0 and 1")
    if getattr(options, "pdf_renderer", None) == "auto":
        options.pdf_renderer = "sandwich"  # textlens's own text layer: see the module's docstring
        log.debug("textlens: using textlens's text-only PDF (--pdf-renderer sandwich)")


@hookimpl
def get_ocr_engine(options: Any = None) -> OcrEngine | None:
    if options is not None and getattr(options, "ocr_engine", "auto") not in ("auto", "textlens"):
        return None
    return TextlensOcrEngine()
