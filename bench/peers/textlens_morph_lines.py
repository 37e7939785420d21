"""textlens with its classical line detector ``morph_lines`` instead of the default (neural) one, on page sets
only: the detector that was the default until 2026-12-06 (commit 2824350), kept for comparison."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.peers import textlens_engine
from bench.peers.textlens_engine import version
from textlens.errors import ModelError
from textlens.eval.layout import PredWord

NAME = "textlens-morph_lines"
CONFIG = "textlens {version}, classical morph_lines detector + default recogniser (onnxruntime)"
DETECTOR = "morph_lines"

__all__ = ["CONFIG", "NAME", "page_reader", "recognizer", "unavailable", "version"]


def unavailable() -> str | None:
    from textlens.runtime.loading import default_model, load_detector

    try:
        default_model("recognition")
        load_detector(DETECTOR, threads=1)
    except ModelError as exc:
        return f"no {DETECTOR} detector or bundled recogniser ({exc})"
    return None


def recognizer(kind: str, threads: int | None) -> Any:
    # Crops are read by the same recogniser as the "textlens" engine: nothing to compare there.
    raise ModelError(f"{NAME} is a detector variant: page sets only (crop sets: engine textlens)")


def page_reader(threads: int | None) -> Callable[[np.ndarray], list[PredWord]]:
    return textlens_engine.page_reader(threads, detector=DETECTOR)
