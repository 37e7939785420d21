"""textlens with its bundled neural detector ``db_fast`` instead of the default one, on page sets only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.peers import textlens_engine
from bench.peers.textlens_engine import version
from textlens.errors import ModelError
from textlens.eval.layout import PredWord

NAME = "textlens-db_fast"
CONFIG = "textlens {version}, bundled db_fast detector + default recogniser (onnxruntime)"
DETECTOR = "db_fast"

__all__ = ["CONFIG", "NAME", "page_reader", "recognizer", "unavailable", "version"]


def unavailable() -> str | None:
    from textlens.runtime.loading import default_model, load_detector

    try:
        default_model("recognition")
        load_detector(DETECTOR, threads=1)
    except ModelError as exc:
        return f"no bundled {DETECTOR} or recogniser ({exc})"
    return None


def recognizer(kind: str, threads: int | None) -> Any:
    # Crops are read by the same recogniser as the "textlens" engine: nothing to compare there.
    raise ModelError(f"{NAME} is a detector variant: page sets only (crop sets: engine textlens)")


def page_reader(threads: int | None) -> Callable[[np.ndarray], list[PredWord]]:
    return textlens_engine.page_reader(threads, detector=DETECTOR)
