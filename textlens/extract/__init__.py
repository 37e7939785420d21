"""Interpretation on top of a Document: structured fields (value, confidence, word boxes) per task.

``extract(source, task="receipt")`` reads an image or PDF (or takes a read ``Document``) and returns an
``Extraction``; ``get_extractor(task)`` gives the extractor itself, ``register_extractor`` adds a task.
Tasks: receipt (company, date, address, total, currency); card (name, title, organization, phones, e-mails,
URLs, address; vCard and CSV in textlens.extract.card); form (entities and question→answer links as
key-value pairs, textlens.extract.form). See docs/extraction.md.
"""

from __future__ import annotations

from typing import Any

from textlens.extract.base import Extraction, Extractor, Field, get_extractor, list_tasks, register_extractor

__all__ = ["Extraction", "Extractor", "Field", "extract", "get_extractor", "list_tasks", "register_extractor"]


def extract(source: Any, task: str = "receipt", ocr: Any = None, **options: Any) -> Extraction:
    """The fields of ``task`` in ``source``: a read ``Document``, or anything ``OCR.read`` takes (read with
    ``ocr``, or a default ``textlens.OCR()``)."""
    from textlens.document import Document

    extractor = get_extractor(task, **options)
    if not isinstance(source, Document):
        if ocr is None:
            from textlens.pipeline import OCR

            ocr = OCR()
        source = ocr.read(source)
    return extractor.extract(source)
