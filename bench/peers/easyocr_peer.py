"""EasyOCR: listed so the table says why it is missing rather than silently leaving it out."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from textlens.eval.layout import PredWord
from textlens.runtime.base import Recognition

NAME = "easyocr"
CONFIG = "EasyOCR default English reader"


def unavailable() -> str | None:
    try:
        import easyocr  # noqa: F401
    except ImportError:
        return (
            "not installed: EasyOCR needs torchvision, and no torchvision build's compiled ops load beside "
            "this environment's torch 2.13 CPU (a second torch is not allowed here)"
        )
    return None


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("easyocr")


class EasyRecognizer:
    name = NAME

    def __init__(self, threads: int | None) -> None:
        import easyocr

        self.reader = easyocr.Reader(["en"], gpu=False, verbose=False)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        out = []
        for crop in crops:
            h, w = crop.shape[:2]
            res = self.reader.recognize(crop, horizontal_list=[[0, w, 0, h]], free_list=[], detail=1)
            text = " ".join(r[1] for r in res)
            out.append(Recognition(text, float(np.mean([r[2] for r in res])) if res else 0.0))
        return out


def recognizer(kind: str, threads: int | None) -> EasyRecognizer:
    return EasyRecognizer(threads)


def page_reader(threads: int | None) -> Callable[[np.ndarray], list[PredWord]]:
    import easyocr

    reader = easyocr.Reader(["en"], gpu=False, verbose=False)

    def read(image: np.ndarray) -> list[PredWord]:
        out = []
        for quad, text, score in reader.readtext(image):
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            out.append(PredWord(text=str(text), box=(min(xs), min(ys), max(xs), max(ys)), confidence=float(score)))
        return out

    return read
