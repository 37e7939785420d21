"""textlens: a deep-learning OCR toolkit — read text, and train, fine-tune and evaluate OCR models.

The public face: ``OCR``, ``Document``, ``load``, ``create_model``, ``list_models``, ``__version__``.
Names are imported lazily so ``import textlens`` stays fast and never imports torch.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The library logs under "textlens.*" and leaves handlers to the program (the CLI: textlens.cli.logs).
logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY = {
    "OCR": "textlens.pipeline",
    "Document": "textlens.document",
    "Page": "textlens.document",
    "Block": "textlens.document",
    "Line": "textlens.document",
    "Word": "textlens.document",
    "load": "textlens.io",
    "create_model": "textlens.models.registry",
    "list_models": "textlens.models.registry",
    "TextlensError": "textlens.errors",
}

__all__ = [
    "OCR",
    "Block",
    "Document",
    "Line",
    "Page",
    "TextlensError",
    "Word",
    "__version__",
    "create_model",
    "list_models",
    "load",
]

if TYPE_CHECKING:
    from textlens.document import Block, Document, Line, Page, Word
    from textlens.errors import TextlensError
    from textlens.io import load
    from textlens.models.registry import create_model, list_models
    from textlens.pipeline import OCR


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textlens' has no attribute {name!r}")
