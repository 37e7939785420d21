"""Input and output: load images/PDFs into pages, write documents atomically in every output format.

Importing this package does not import torch (nor pypdfium2 until a PDF is loaded).
"""

from __future__ import annotations

from textlens.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from textlens.io.load import (
    DEFAULT_DPI,
    DEFAULT_MAX_PIXELS,
    MIN_SIDE,
    PageImage,
    iter_pages,
    load,
    load_image,
)
from textlens.io.write import FORMATS, render
from textlens.io.write import write as write_document

# `textlens.io.write` stays the writers' package; the function is re-exported as `write_document`.

__all__ = [
    "DEFAULT_DPI",
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "MIN_SIDE",
    "PageImage",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "iter_pages",
    "load",
    "load_image",
    "render",
    "write_document",
]
