"""Output writers: turn a Document into text, JSON, hOCR, ALTO, TSV, searchable PDF or overlay PNGs.

Writers read only the Document tree (plus page images for ``pdf`` and ``overlay``); they never see
models. ``render`` returns the output in memory, ``write`` stores it atomically (temp file + rename).
Formats are described in docs/formats.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from textlens.document import Document
from textlens.errors import ConfigError, OutputError
from textlens.io.atomic import atomic_write_bytes
from textlens.io.write._common import unicode_safe

# name -> (file extension, binary?)
FORMATS: dict[str, tuple[str, bool]] = {
    "text": (".txt", False),
    "json": (".json", False),
    "hocr": (".hocr", False),
    "alto": (".xml", False),
    "tsv": (".tsv", False),
    "pdf": (".pdf", True),
    "overlay": (".png", True),
}

__all__ = ["FORMATS", "overlay_paths", "page_target", "render", "write"]


def _module(fmt: str) -> ModuleType:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    # Imported lazily so that writing plain text never pays for PDF or drawing code.
    return importlib.import_module(f"textlens.io.write.{fmt}")


def render(
    document: Document, fmt: str, images: Sequence[np.ndarray | None] | None = None, *, dehyphenate: bool = True
) -> str | bytes:
    """The document in ``fmt``: str for text formats, bytes for ``pdf`` and ``overlay``.

    ``images`` (one RGB/grey array per page, or None) is used by ``pdf`` and ``overlay`` only.
    For ``overlay`` the pages of a multi-page document are stacked top to bottom in one PNG.
    ``dehyphenate`` joins words broken by a hyphen at a line's end in ``text`` (see
    :func:`textlens.io.write.text.dehyphenate_lines`); the other formats keep the words as read.
    """
    if fmt == "text":
        return _module(fmt).render(document, images, dehyphenate=dehyphenate)
    return _module(fmt).render(document, images)


def page_target(path: str | Path, index: int, page_count: int) -> Path:
    """Where a per-page output of page ``index`` (0-based) goes: ``path`` for a one-page file, else
    ``<stem>-p<N><ext>`` with N counted from 1 (``scan.png`` → ``scan-p1.png``, ``scan-p2.png``, …)."""
    path = Path(path)
    if page_count <= 1:
        return path
    return path.with_name(f"{path.stem}-p{index + 1}{path.suffix}")


def overlay_paths(path: str | Path, n_pages: int) -> list[Path]:
    """Where ``write(..., "overlay")`` puts each page (see ``page_target``)."""
    return [page_target(path, i, n_pages) for i in range(max(n_pages, 1))]


def write(
    document: Document,
    path: str | Path,
    fmt: str,
    images: Sequence[np.ndarray | None] | None = None,
    *,
    dehyphenate: bool = True,
) -> Path:
    """Render ``document`` as ``fmt`` and store it at ``path`` atomically; returns the path written.

    ``overlay`` writes one PNG per page (see ``overlay_paths``) and returns the first page's path.
    The output is fully rendered before anything touches the disk, so a failure leaves no file.
    """
    module = _module(fmt)
    path = Path(path)
    if fmt == "overlay":
        pages = module.render_pages(document, images)
        targets = overlay_paths(path, len(pages))
        payloads: list[bytes] = pages
    else:
        data = render(document, fmt, images, dehyphenate=dehyphenate)
        targets = [path]
        payloads = [unicode_safe(data).encode("utf-8") if isinstance(data, str) else data]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror or exc})", source=path) from exc
    for target, payload in zip(targets, payloads, strict=True):
        atomic_write_bytes(target, payload)  # raises OutputError naming the file
    return targets[0]
