"""textlens itself: the bundled recogniser for crops, the full pipeline for pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from textlens.eval.layout import PredWord
from textlens.eval.runners import document_lines

NAME = "textlens"
CONFIG = "textlens {version}, bundled default models (onnxruntime)"


def unavailable() -> str | None:
    from textlens.errors import ModelError
    from textlens.runtime.loading import default_model

    try:
        default_model("recognition")
    except ModelError as exc:
        return f"no bundled model yet ({exc})"
    return None


def version() -> str:
    import textlens

    return str(getattr(textlens, "__version__", "dev"))


def recognizer(kind: str, threads: int | None) -> Any:
    from textlens.runtime import load_recognizer

    return load_recognizer(None, threads=threads)


def page_reader(threads: int | None, detector: str | None = None) -> Callable[[np.ndarray], list[PredWord]]:
    """The full pipeline; ``detector`` names another bundled detector than the default."""
    from textlens.document import Document
    from textlens.pipeline import OCR

    ocr = OCR(detector=detector, threads=threads)
    return lambda image: document_lines(Document(pages=(ocr.read_page(image),)))
