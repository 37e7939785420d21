"""Plain-text writer: the document's words in reading order, laid out like Tesseract's txt output.

Words are joined by spaces, lines by newlines, blocks by a blank line; every page ends with a
newline and pages are separated by a form feed (U+000C).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textlens.document import Document, Page


def page_text(page: Page) -> str:
    """One page's text: blocks separated by blank lines, ending with a newline when not empty."""
    text = "\n\n".join(block.text for block in page.blocks)
    return text + "\n" if text else ""


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> str:
    """The document as plain text (``images`` is accepted for a uniform signature and ignored)."""
    return "\f".join(page_text(page) for page in document.pages)
