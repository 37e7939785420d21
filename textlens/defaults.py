"""Defaults that the library and the command line share, kept in one place that imports nothing.

The ``textlens`` command imports these (its option defaults and help must match the library's) without
loading the inference stack. The input limits (pixels, pages, PDF renderer time and memory, DPI) live beside
the code that enforces them, in :mod:`textlens.io.load` and :mod:`textlens.io.pdf_pages`.
"""

from __future__ import annotations

#: Regions read with a lower mean confidence are dropped from a page (``OCR(min_confidence=)``,
#: ``textlens read --min-confidence``); 0 keeps every region.
DEFAULT_MIN_CONFIDENCE = 0.6
