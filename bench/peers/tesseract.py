"""Tesseract through pytesseract (one `tesseract` process per call, the customary Python usage)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence

import numpy as np

from textlens.eval.layout import PredWord
from textlens.runtime.base import Recognition

NAME = "tesseract"
# psm 8: treat the image as a single word; psm 7: a single text line; psm 3: automatic page segmentation.
PSM = {"word": 8, "line": 7, "page": 3}
CONFIG = (
    "Tesseract {version}, eng (LSTM, --oem 3), --psm 8 words / 7 lines / 3 pages (image_to_data), via pytesseract; "
    "pages and crops with a `lang` (clean print, accented lines) read with that language's pack"
)
# A record's `lang` (ISO 639-1) -> the Tesseract pack it is read with (Debian: tesseract-ocr-<pack>).
PACKS = {
    "en": "eng",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "it": "ita",
    "pt": "por",
    "nl": "nld",
    "pl": "pol",
    "cs": "ces",
    "sk": "slk",
    "hu": "hun",
    "ro": "ron",
    "tr": "tur",
    "sv": "swe",
    "da": "dan",
    "nb": "nor",
    "no": "nor",
    "fi": "fin",
}
# recognizer() and page_reader() take lang=: the worker reads each page or crop with its own language's reader
PER_LANGUAGE = True


def unavailable() -> str | None:
    if shutil.which("tesseract") is None:
        return "the tesseract binary is not installed (apt-get install tesseract-ocr)"
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "pytesseract is not installed (pip install pytesseract)"
    return None


def version() -> str:
    import pytesseract

    return str(pytesseract.get_tesseract_version())


def pack_for(lang: str) -> str:
    """The installed Tesseract pack for ``lang`` (ISO 639-1, or a pack name); ModelError naming the package."""
    import pytesseract

    from textlens.errors import ModelError

    pack = PACKS.get(lang, lang)
    if pack not in pytesseract.get_languages(config=""):
        raise ModelError(f"Tesseract has no {pack!r} pack for {lang!r} (apt-get install tesseract-ocr-{pack})")
    return pack


class TesseractRecognizer:
    name = NAME

    def __init__(self, kind: str, pack: str = "eng") -> None:
        self.config = f"--oem 3 --psm {PSM[kind]}"
        self.pack = pack

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        import pytesseract

        return [
            Recognition(pytesseract.image_to_string(c, lang=self.pack, config=self.config).strip(), 1.0) for c in crops
        ]


def recognizer(kind: str, threads: int | None, lang: str = "en") -> TesseractRecognizer:
    # Threads are set through OMP_THREAD_LIMIT in the environment the benchmark worker starts with.
    return TesseractRecognizer(kind, pack_for(lang))


def _lines(data: dict[str, list]) -> list[PredWord]:
    """image_to_data's words grouped into its own lines, each carrying its word boxes."""
    groups: dict[tuple[int, int, int], list[PredWord]] = {}
    for i, text in enumerate(data["text"]):
        if float(data["conf"][i]) < 0 or not str(text).strip():
            continue
        x, y, w, h = (int(data[k][i]) for k in ("left", "top", "width", "height"))
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        groups.setdefault(key, []).append(
            PredWord(text=str(text).strip(), box=(x, y, x + w, y + h), confidence=float(data["conf"][i]) / 100)
        )
    out = []
    for words in groups.values():
        box = (
            min(w.box[0] for w in words),
            min(w.box[1] for w in words),
            max(w.box[2] for w in words),
            max(w.box[3] for w in words),
        )
        out.append(PredWord(text=" ".join(w.text for w in words), box=box, words=tuple(words)))
    return out


def page_reader(threads: int | None, lang: str = "en") -> Callable[[np.ndarray], list[PredWord]]:
    import pytesseract

    config = f"--oem 3 --psm {PSM['page']}"
    pack = pack_for(lang)

    def read(image: np.ndarray) -> list[PredWord]:
        data = pytesseract.image_to_data(image, lang=pack, config=config, output_type=pytesseract.Output.DICT)
        return _lines(data)

    return read
