"""JSON writer: ``Document.to_dict()`` pretty-printed as UTF-8 (shape in docs/document-json.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import numpy as np

from textlens.document import Document
from textlens.errors import OutputError

# A list holding only numbers, spread over several lines by indent=2 (JSON strings cannot hold a raw
# newline, so this never matches inside text).
_NUMBER_LIST = re.compile(r"\[\n\s*(-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*)\n\s*\]")


def _one_line(match: re.Match[str]) -> str:
    return "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]"


def _plain(value: Any) -> Any:
    """Turn metadata values json cannot store (numpy scalars/arrays, paths, sets) into plain ones."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise OutputError(f"document metadata holds a {type(value).__name__}, which JSON cannot store")


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> str:
    """The document as indented JSON text ending with a newline, boxes and points on one line each.

    ``images`` is ignored.
    """
    text = json.dumps(document.to_dict(), indent=2, ensure_ascii=False, default=_plain)
    return _NUMBER_LIST.sub(_one_line, text) + "\n"
