"""The limits every page is read under: pixels, pages, page selection, PDF render time and memory.

The defaults come from a memory budget (docs/trust.md); every one can be raised by its option.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from textlens.errors import ConfigError, EmptyDocument, ImageTooLarge, ImageTooSmall
from textlens.io.pdf_pages import DEFAULT_PDF_MEMORY_MB, DEFAULT_PDF_TIMEOUT, PdfLimits

#: The largest page read by default, from a memory budget: reading a text-dense page of 60 Mpx peaks at
#: about 1.3 GB of resident memory (all stages, one thread; docs/trust.md). An A4 page at 600 dpi (35 Mpx)
#: fits; a decompression bomb claiming 12000×12000 pixels does not. ``max_pixels=`` / ``--max-pixels``
#: raise it.
DEFAULT_MAX_PIXELS = 60_000_000
#: The most pages read from one file by default (``max_pages=`` / ``--max-pages``).
DEFAULT_MAX_PAGES = 2000
#: Below this many pixels on a side an image cannot hold a readable glyph.
MIN_SIDE = 4
DEFAULT_DPI = 200.0


@dataclass(frozen=True)
class Limits:
    """The options every page is checked against."""

    dpi: float
    max_pixels: int
    min_side: int
    first_page_only: bool
    max_pages: int = DEFAULT_MAX_PAGES
    pages: frozenset[int] | None = None  # 0-based page indices to read; None reads every page
    pdf_timeout: float = DEFAULT_PDF_TIMEOUT
    pdf_memory_mb: int = DEFAULT_PDF_MEMORY_MB

    def wanted(self, count: int, source: str) -> list[int]:
        """The 0-based pages of a ``count``-page file to read, refused when there are too many."""
        if self.first_page_only:
            return [0]
        indices = list(range(count)) if self.pages is None else sorted(i for i in self.pages if i < count)
        if not indices:
            raise EmptyDocument(
                f"none of the selected pages exist (the file has {count} page{'s' * (count != 1)})", source=source
            )
        if len(indices) > self.max_pages:
            raise ImageTooLarge(
                f"{len(indices)} pages to read exceeds the limit of {self.max_pages} "
                "(set max_pages= or --max-pages, or choose pages with --pages)",
                source=source,
            )
        return indices

    def pdf(self) -> PdfLimits:
        return PdfLimits(self.dpi, self.max_pixels, self.min_side, self.pdf_timeout, self.pdf_memory_mb)


def parse_page_ranges(text: str) -> frozenset[int]:
    """``"1-5,9"`` (1-based, as people count pages; ``"7-"`` runs to the end) as 0-based indices."""
    indices: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            start = int(first)
            stop = (int(last) if last.strip() else OPEN_END) if dash else start
        except ValueError:
            raise ConfigError(f"pages: {part!r} is not a page number or range like 1-5 (in {text!r})") from None
        if start < 1 or stop < start:
            raise ConfigError(f"pages: {part!r} is not a valid range (pages count from 1; in {text!r})")
        indices.update(range(start - 1, min(stop, OPEN_END)))
    return frozenset(indices)


# "7-" reads to the end of the document; the page limit still applies.
OPEN_END = 1 << 20


def check_options(
    dpi: float,
    max_pixels: int,
    first_page_only: bool,
    min_side: int,
    pages: Iterable[int] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    pdf_timeout: float = DEFAULT_PDF_TIMEOUT,
    pdf_memory_mb: int = DEFAULT_PDF_MEMORY_MB,
) -> Limits:
    if not (isinstance(dpi, (int, float)) and math.isfinite(dpi) and dpi > 0):
        raise ConfigError(f"dpi must be a positive number, got {dpi!r}")
    if not (isinstance(max_pixels, int) and max_pixels > 0):
        raise ConfigError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if not (isinstance(min_side, int) and min_side >= 1):
        raise ConfigError(f"min_side must be an integer >= 1, got {min_side!r}")
    if not (isinstance(max_pages, int) and max_pages >= 1):
        raise ConfigError(f"max_pages must be an integer >= 1, got {max_pages!r}")
    if not (isinstance(pdf_timeout, (int, float)) and math.isfinite(pdf_timeout) and pdf_timeout > 0):
        raise ConfigError(f"pdf_timeout must be a positive number of seconds, got {pdf_timeout!r}")
    if not (isinstance(pdf_memory_mb, int) and pdf_memory_mb >= 256):
        raise ConfigError(f"pdf_memory_mb must be an integer of at least 256 (MiB), got {pdf_memory_mb!r}")
    selected = None if pages is None else frozenset(int(i) for i in pages)
    if selected is not None and (not selected or min(selected) < 0):
        raise ConfigError("pages must be a non-empty set of 0-based page indices")
    return Limits(
        float(dpi), max_pixels, min_side, first_page_only, max_pages, selected, float(pdf_timeout), pdf_memory_mb
    )


def check_size(width: int, height: int, source: str, limits: Limits, what: str = "image") -> None:
    """Refuse a page from its announced size, before any pixel is decoded."""
    pixels = width * height
    if pixels > limits.max_pixels:
        raise ImageTooLarge(
            f"{what}: {width}×{height} = {pixels} pixels exceeds the limit of {limits.max_pixels} "
            "(set max_pixels= or --max-pixels)",
            source=source,
        )
    if min(width, height) < limits.min_side:
        raise ImageTooSmall(
            f"{what}: {width}×{height} pixels is too small to hold text "
            f"(at least {limits.min_side} pixels a side are needed)",
            source=source,
        )
