"""RapidOCR 3.x (PP-OCR ONNX models bundled with the wheel, run by onnxruntime)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from textlens.eval.layout import PredWord
from textlens.runtime.base import Recognition

NAME = "rapidocr"
CONFIG = (
    "RapidOCR {version} defaults (PP-OCRv6 small det + rec, onnxruntime); crops: recognition only "
    "(use_det/use_cls off); pages: full pipeline with return_word_box"
)


def unavailable() -> str | None:
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return "rapidocr is not installed (pip install rapidocr)"
    return None


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("rapidocr")


def _engine(threads: int | None) -> Any:
    from rapidocr import RapidOCR

    n = threads or -1  # -1: onnxruntime's default, all cores
    return RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": n,
            "EngineConfig.onnxruntime.inter_op_num_threads": n,
        }
    )


class RapidRecognizer:
    name = NAME

    def __init__(self, threads: int | None) -> None:
        self.engine = _engine(threads)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        out = []
        for crop in crops:
            # RapidOCR takes arrays as BGR (OpenCV order); ours are RGB.
            res = self.engine(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), use_det=False, use_cls=False, use_rec=True)
            txts = getattr(res, "txts", None) or ("",)
            scores = getattr(res, "scores", None) or (0.0,)
            out.append(Recognition(str(txts[0]), float(scores[0])))
        return out


def recognizer(kind: str, threads: int | None) -> RapidRecognizer:
    return RapidRecognizer(threads)


def _word_parts(text: str, words: Any) -> tuple[PredWord, ...]:
    """RapidOCR's per-word boxes for a line, used only when they spell the line exactly."""
    parts = []
    for item in words or ():
        word, _score, quad = item
        if quad is None:
            return ()
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        parts.append(PredWord(text=str(word), box=(min(xs), min(ys), max(xs), max(ys))))
    if "".join(p.text for p in parts) != "".join(text.split()):
        return ()
    return tuple(parts)


def page_reader(threads: int | None) -> Callable[[np.ndarray], list[PredWord]]:
    engine = _engine(threads)

    def read(image: np.ndarray) -> list[PredWord]:
        res = engine(
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
            use_det=True,
            use_cls=True,
            use_rec=True,
            return_word_box=True,
        )
        if res is None or getattr(res, "boxes", None) is None or not getattr(res, "txts", None):
            return []
        words = list(res.word_results) if len(res.word_results) == len(res.txts) else [None] * len(res.txts)
        out = []
        for quad, text, score, parts in zip(res.boxes, res.txts, res.scores, words, strict=True):
            xs, ys = quad[:, 0], quad[:, 1]
            box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
            out.append(PredWord(text=str(text), box=box, confidence=float(score), words=_word_parts(text, parts)))
        return out

    return read
