"""Engine adapters for the benchmark: each exposes NAME, CONFIG, unavailable(), recognizer(), page_reader().

``recognizer(kind, threads)`` returns an object with ``recognize(list of RGB crops) -> list[Recognition]``
(kind is "word" or "line"); ``page_reader(threads)`` returns ``RGB page -> list[PredWord]``. ``threads``
is 1 or None (all cores). ``unavailable()`` returns why the engine cannot run here, or None. An engine with
``PER_LANGUAGE = True`` also takes ``recognizer(kind, threads, lang=...)`` and ``page_reader(threads, lang=...)``
(ISO 639-1) and reads each crop or page of a set whose records carry a ``lang`` (clean print, accented lines)
with that language's reader (Tesseract: the matching ``-l`` pack).
"""

from __future__ import annotations

import importlib
from types import ModuleType

ENGINES = {
    "textlens": "bench.peers.textlens_engine",
    "textlens-morph_lines": "bench.peers.textlens_morph_lines",
    "tesseract": "bench.peers.tesseract",
    "rapidocr": "bench.peers.rapidocr_peer",
    "easyocr": "bench.peers.easyocr_peer",
}


def engine_module(name: str) -> ModuleType:
    return importlib.import_module(ENGINES[name])
