"""Outputs written while a document is read, page by page, so memory does not grow with the page count.

``open_output(fmt, target)`` gives an :class:`Output`: ``add_page`` is called with each page as soon as
it is read (the searchable PDF and the overlays take its image then, and the image can be dropped),
``finish`` with the whole Document (the text formats are rendered from it: they hold words, not pixels),
``abort`` when reading failed. Nothing appears at the target before ``finish``: every file is staged as a
temporary and moved into place at the end (see :mod:`textlens.io.atomic`), so a failed or killed run
leaves no half-written output. ``target`` None keeps a text format in memory (``finish`` returns it);
``"-"`` is standard output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from textlens.document import Document, Page
from textlens.errors import OutputError
from textlens.io.atomic import STDOUT, PendingFile, atomic_write_bytes
from textlens.io.write import FORMATS, page_target, render
from textlens.io.write._common import unicode_safe


class Output(Protocol):
    def add_page(self, page: Page, image: np.ndarray | None, page_count: int) -> None: ...

    def finish(self, document: Document) -> str | None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Protected:
    """Files no output may land on: the inputs of the run (by resolved path and by inode)."""

    paths: frozenset[str] = frozenset()
    inodes: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def of(cls, files: list[Path]) -> Protected:
        paths, inodes = set(), set()
        for f in files:
            paths.add(os.path.realpath(f))
            try:
                st = os.stat(f)
            except OSError:
                continue
            inodes.add((st.st_dev, st.st_ino))
        return cls(frozenset(paths), frozenset(inodes))

    def holds(self, target: str | Path) -> bool:
        if str(target) == STDOUT:
            return False
        if os.path.realpath(target) in self.paths:
            return True
        try:
            st = os.stat(target)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) in self.inodes


def _refuse_input(target: Path, protected: Protected) -> None:
    if protected.holds(target):
        raise OutputError("refusing to write over an input of this run (choose another -o)", source=target)


def _make_parent(target: Path) -> None:
    if str(target) == STDOUT:
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror or exc})", source=target) from exc


@dataclass
class _DocumentOutput:
    """Text, JSON, hOCR, ALTO, TSV: rendered from the finished Document (small: words and boxes)."""

    fmt: str
    target: Path | None
    protected: Protected
    dehyphenate: bool = True  # text only: words broken at line ends joined (textlens.io.write.text)

    def add_page(self, page: Page, image: np.ndarray | None, page_count: int) -> None:
        return None

    def finish(self, document: Document) -> str | None:
        text = str(render(document, self.fmt, dehyphenate=self.dehyphenate))
        if self.target is None:
            return text
        _refuse_input(self.target, self.protected)
        _make_parent(self.target)
        atomic_write_bytes(self.target, unicode_safe(text).encode("utf-8"))
        return None

    def abort(self) -> None:
        return None


@dataclass
class _PdfOutput:
    """The searchable PDF, each page appended to a staged file as it is read."""

    target: Path
    protected: Protected
    _pending: PendingFile | None = None
    _file: IO[bytes] | None = None
    _writer: Any = None

    def add_page(self, page: Page, image: np.ndarray | None, page_count: int) -> None:
        if self._writer is None:
            from textlens.io.write.pdf import PdfWriter

            _refuse_input(self.target, self.protected)
            _make_parent(self.target)
            self._pending = PendingFile(self.target)
            self._file = open(self._pending.tmp, "wb")  # noqa: SIM115 - closed in finish/abort
            self._writer = PdfWriter(self._file)
        try:
            self._writer.add_page(page, image)
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write the file: {exc.strerror or exc}", source=self.target) from exc

    def finish(self, document: Document) -> str | None:
        from textlens.io.write.pdf import document_title

        if self._writer is None or self._pending is None or self._file is None:
            raise OutputError("the document has no pages; a PDF needs at least one", source=self.target)
        try:
            self._writer.finish(document_title(document), document.lang)
            self._file.close()
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write the file: {exc.strerror or exc}", source=self.target) from exc
        self._pending.commit()
        return None

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._pending is not None:
            self._pending.discard()


@dataclass
class _OverlayOutput:
    """One overlay PNG per page (``stem-p<N>.png`` for page N of a multi-page file), committed together."""

    target: Path
    protected: Protected
    _pending: list[PendingFile] = field(default_factory=list)
    _stacked: list[Any] = field(default_factory=list)

    def add_page(self, page: Page, image: np.ndarray | None, page_count: int) -> None:
        from textlens.io.write.overlay import png_bytes, render_page

        drawn = render_page(page, image)
        if str(self.target) == STDOUT:
            self._stacked.append(drawn)  # standard output gets one PNG: the pages stacked
            return
        target = page_target(self.target, page.index, page_count)
        _refuse_input(target, self.protected)
        _make_parent(target)
        pending = PendingFile(target)
        self._pending.append(pending)
        try:
            pending.tmp.write_bytes(png_bytes(drawn))
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write the file: {exc.strerror or exc}", source=target) from exc

    def finish(self, document: Document) -> str | None:
        if self._stacked:
            from textlens.io.write.overlay import png_bytes, stack

            atomic_write_bytes(self.target, png_bytes(stack(self._stacked)))
        elif not self._pending:
            raise OutputError("the document has no pages to draw", source=self.target)
        for pending in self._pending:
            pending.commit()
        return None

    def abort(self) -> None:
        for pending in self._pending:
            pending.discard()


def open_output(
    fmt: str, target: Path | None, protected: Protected | None = None, *, dehyphenate: bool = True
) -> Output:
    """An output of ``fmt`` bound for ``target`` (None: returned by ``finish``; ``"-"``: standard output).
    ``dehyphenate`` joins words broken at line ends in ``text``; the other formats keep the words as read."""
    if fmt not in FORMATS:
        raise OutputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    guard = protected or Protected()
    binary = FORMATS[fmt][1]
    if binary and target is None:
        raise OutputError(f"{fmt} output needs a file, a folder or - (standard output)")
    if fmt == "pdf":
        return _PdfOutput(Path(target), guard)  # type: ignore[arg-type]
    if fmt == "overlay":
        return _OverlayOutput(Path(target), guard)  # type: ignore[arg-type]
    return _DocumentOutput(fmt, None if target is None else Path(target), guard, dehyphenate=dehyphenate)
