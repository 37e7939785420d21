"""Load images and PDFs into RGB uint8 pages, refusing bad input with a specific textlens error.

Every supported input (a path, bytes, a numpy array or a PIL image) becomes a list of
:class:`PageImage`: one per PDF page or TIFF frame, one for any other image. The format is
detected from the bytes, never from the file name. Images are size-checked from their header
before any pixel is decoded (decompression-bomb guard), and PDF pages are size-checked from their
page box before rendering.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import stat
import struct
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps

from textlens.errors import (
    ConfigError,
    CorruptImage,
    EmptyDocument,
    FileNotFound,
    ImageTooLarge,
    ImageTooSmall,
    NotAFile,
    UnreadableFile,
    UnsupportedFormat,
)
from textlens.io.pdf_pages import (
    DEFAULT_PDF_MEMORY_MB,
    DEFAULT_PDF_TIMEOUT,
    PdfLimits,
    pdf_file,
    pdf_page_count,
    render_pdf_page,
)

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
SUPPORTED = "PNG, JPEG, TIFF, BMP, WebP, GIF, PDF"

Source = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray | Image.Image

# Exceptions Pillow's decoders raise on damaged data (it has no single base class for them).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error)
_SNIFF_BYTES = 2048


@dataclass(frozen=True)
class PageImage:
    """One page of input: an RGB uint8 H×W×3 C-contiguous image and where it came from.

    ``source`` is the file's path, None for in-memory input. ``dpi`` is the resolution stored in
    the image file when it has one, the render resolution for PDF pages, and None otherwise.
    ``page_count`` is the number of pages the file holds (so writers can name per-page outputs
    from the first page on, without holding every page).
    """

    image: np.ndarray
    index: int
    source: str | None
    dpi: float | None = None
    page_count: int = 1

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class _Limits:
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


def load(
    source: Source,
    dpi: float = DEFAULT_DPI,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    first_page_only: bool = False,
    min_side: int = MIN_SIDE,
    **options: Any,
) -> list[PageImage]:
    """Every page of ``source`` as RGB uint8; PDFs are rendered at ``dpi``.

    ``source`` is a path, the bytes of a file, a numpy array (H×W, H×W×1, H×W×3 RGB - not
    OpenCV's BGR - or H×W×4 RGBA; uint8, uint16, bool, or float in [0, 1]) or a PIL image.
    EXIF orientation is applied and transparency is flattened onto white. Raises an
    ``InputError`` subclass naming the input and the problem, or ``ConfigError`` for bad options.
    Further options (``pages``, ``max_pages``, ``pdf_timeout``, ``pdf_memory_mb``): see :func:`iter_pages`.
    Prefer :func:`iter_pages` for long documents: this list holds every page at once.
    """
    return list(iter_pages(source, dpi, max_pixels, first_page_only, min_side, **options))


def load_image(
    source: Source,
    dpi: float = DEFAULT_DPI,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> PageImage:
    """The first page of ``source`` (see :func:`load`)."""
    pages = iter_pages(source, dpi, max_pixels, True, min_side)
    try:
        return next(pages)
    finally:
        pages.close()  # releases the open file now rather than at garbage collection


def iter_pages(
    source: Source,
    dpi: float = DEFAULT_DPI,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    first_page_only: bool = False,
    min_side: int = MIN_SIDE,
    *,
    pages: Iterable[int] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    pdf_timeout: float = DEFAULT_PDF_TIMEOUT,
    pdf_memory_mb: int = DEFAULT_PDF_MEMORY_MB,
) -> Iterator[PageImage]:
    """Pages of ``source`` one at a time, so a long PDF never has all its pages in memory.

    ``pages`` selects 0-based page indices (``parse_page_ranges("1-5,9")`` makes them from the
    command line's 1-based ranges); at most ``max_pages`` pages are read from one file. PDF pages
    are rendered in a separate process, each within ``pdf_timeout`` seconds and ``pdf_memory_mb`` MiB
    (see :mod:`textlens.io.pdf_pages`). Errors surface on the first ``next()`` (and per page for
    later pages).
    """
    limits = _check_options(dpi, max_pixels, first_page_only, min_side, pages, max_pages, pdf_timeout, pdf_memory_mb)
    if isinstance(source, np.ndarray):
        yield PageImage(_array_to_rgb(source, "<array>", limits), 0, None, None)
    elif isinstance(source, Image.Image):
        name = getattr(source, "filename", None) or "<PIL image>"
        yield from _pil_pages(source, str(name), limits)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        yield from _bytes_pages(bytes(source), "<bytes>", limits)
    elif isinstance(source, (str, os.PathLike)):
        yield from _path_pages(Path(source), limits)
    else:
        raise UnsupportedFormat(
            f"cannot load a {type(source).__name__}: pass a path, bytes, a numpy array or a PIL image",
            source=f"<{type(source).__name__}>",
        )


def parse_page_ranges(text: str) -> frozenset[int]:
    """``"1-5,9"`` (1-based, as people count pages; ``"7-"`` runs to the end) as 0-based indices."""
    indices: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            start = int(first)
            stop = (int(last) if last.strip() else _OPEN_END) if dash else start
        except ValueError:
            raise ConfigError(f"pages: {part!r} is not a page number or range like 1-5 (in {text!r})") from None
        if start < 1 or stop < start:
            raise ConfigError(f"pages: {part!r} is not a valid range (pages count from 1; in {text!r})")
        indices.update(range(start - 1, min(stop, _OPEN_END)))
    return frozenset(indices)


# "7-" reads to the end of the document; the page limit still applies.
_OPEN_END = 1 << 20


def _check_options(
    dpi: float,
    max_pixels: int,
    first_page_only: bool,
    min_side: int,
    pages: Iterable[int] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    pdf_timeout: float = DEFAULT_PDF_TIMEOUT,
    pdf_memory_mb: int = DEFAULT_PDF_MEMORY_MB,
) -> _Limits:
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
    return _Limits(
        float(dpi), max_pixels, min_side, first_page_only, max_pages, selected, float(pdf_timeout), pdf_memory_mb
    )


def _check_size(width: int, height: int, source: str, limits: _Limits, what: str = "image") -> None:
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


# ---------------------------------------------------------------- format detection


def sniff_format(head: bytes) -> str | None:
    """The format textlens reads that ``head`` (the first bytes of a file) starts, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    # The PDF spec lets the header start anywhere in the first 1024 bytes.
    if b"%PDF-" in head[:1024]:
        return "PDF"
    return None


_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a DOCX/XLSX/ODT/EPUB document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"8BPS", "a Photoshop PSD file"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "a legacy Microsoft Office document"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"qoif", "a QOI image"),
)


def describe_unknown(head: bytes) -> str:
    """What non-supported bytes look like, for the error message (e.g. 'HTML', 'plain text')."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "a HEIC/HEIF image"
        return "an AVIF image" if brand.startswith(b"avi") else "an MP4/QuickTime file"
    if len(head) >= 2 and head[:1] == b"P" and head[1:2] in b"1234567":
        return "a Netpbm image (PBM/PGM/PPM)"
    return _describe_text(head) or "unrecognised binary data"


def _describe_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        # A multi-byte character may be cut at the end of the sniffed bytes.
        text = head.decode("utf-8", errors="strict" if len(head) < _SNIFF_BYTES else "ignore")
    except UnicodeDecodeError:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<svg") or (start.startswith("<?xml") and "<svg" in start):
        return "an SVG drawing"
    if start.startswith(("<!doctype html", "<html")) or "<html" in start[:256]:
        return "an HTML page"
    if start.startswith("<?xml"):
        return "an XML document"
    if start.startswith(("{", "[")):
        return "JSON or other text"
    return "plain text"


def _unsupported(head: bytes, source: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"not an image or PDF textlens reads: it looks like {describe_unknown(head)} (supported: {SUPPORTED})",
        source=source,
    )


# ---------------------------------------------------------------- paths and bytes


# pathlib folds "https://host/x" into "https:/host/x", so one slash is enough to know a URL.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def _stat_file(path: Path) -> None:
    """Refuse a path that is missing, a folder, or not a regular file (a FIFO would block reads)."""
    source = str(path)
    if _URL.match(source) and not path.exists():
        raise FileNotFound("is a URL: textlens never downloads anything (fetch the file first)", source=source)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        broken_link = path.is_symlink()
        raise FileNotFound("broken symbolic link" if broken_link else "no such file", source=source) from None
    except OSError as e:
        raise UnreadableFile(f"cannot access the file: {e.strerror or e}", source=source) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAFile("is a folder, not a file (pass the files inside it)", source=source)
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile("is not a regular file (a device, FIFO or socket)", source=source)


def _open_file(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")  # the caller closes it when its pages are done
    except OSError as e:
        raise UnreadableFile(f"cannot open the file: {e.strerror or e}", source=str(path)) from None


def _path_pages(path: Path, limits: _Limits) -> Iterator[PageImage]:
    _stat_file(path)
    source = str(path)
    with _open_file(path) as fp:
        fmt = _format_or_raise(_read(fp, _SNIFF_BYTES, source), source)
        if fmt != "PDF":
            yield from _file_image_pages(fp, fmt, source, limits)
            return
    yield from _pdf_pages(source, source, limits)  # opened by the renderer from the path, never read whole


def _read(fp: IO[bytes], size: int, source: str) -> bytes:
    try:
        return fp.read(size)
    except OSError as e:
        raise UnreadableFile(f"cannot read the file: {e.strerror or e}", source=source) from None


def _bytes_pages(data: bytes, source: str, limits: _Limits) -> Iterator[PageImage]:
    fmt = _format_or_raise(data[:_SNIFF_BYTES], source)
    if fmt == "PDF":
        with pdf_file(data) as path:
            yield from _pdf_pages(path, source, limits)
    else:
        yield from _file_image_pages(io.BytesIO(data), fmt, source, limits)


def _format_or_raise(head: bytes, source: str) -> str:
    if not head:
        raise CorruptImage("empty file (0 bytes)", source=source)
    fmt = sniff_format(head)
    if fmt is None:
        raise _unsupported(head, source)
    return fmt


# ---------------------------------------------------------------- raster images


def _open_as(fp: IO[bytes], fmt: str, source: str) -> ImageFile.ImageFile:
    """Open ``fp`` with the decoder for ``fmt`` without decoding pixels.

    This is what ``Image.open`` does after sniffing, minus its global MAX_IMAGE_PIXELS check:
    our own limit (``max_pixels``, with W×H in its message) is applied right after.
    """
    Image.init()
    factory, _accept = Image.OPEN[fmt]
    fp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return factory(fp, source)
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"{e} (set max_pixels= or --max-pixels)", source=source) from None
    except _DECODE_ERRORS as e:
        raise CorruptImage(f"not a valid {_fmt_name(fmt)} file, its header is damaged ({e})", source=source) from None


def _fmt_name(fmt: str | None) -> str:
    return {"WEBP": "WebP", None: "image"}.get(fmt, fmt or "image")


def _file_image_pages(fp: IO[bytes], fmt: str, source: str, limits: _Limits) -> Iterator[PageImage]:
    im = _open_as(fp, fmt, source)
    with im:
        yield from _pil_pages(im, source, limits)


def _pil_pages(im: Image.Image, source: str, limits: _Limits) -> Iterator[PageImage]:
    """Each selected page of an opened image: the frames of a TIFF, the first frame of anything else."""
    fmt = im.format
    count = _frame_count(im, source, limits) if fmt == "TIFF" and not limits.first_page_only else 1
    for index in limits.wanted(count, source):
        if count > 1:
            _seek(im, index, source)
        what = f"frame {index + 1} of {count}" if count > 1 else "image"
        _check_size(im.width, im.height, source, limits, what)
        frame = _decode(im, fmt, source, what)
        page_source = None if source.startswith("<") else source  # "<bytes>" is not a file
        yield PageImage(_pil_to_rgb(frame, source), index, page_source, _file_dpi(im), count)


def _frame_count(im: Image.Image, source: str, limits: _Limits) -> int:
    """The TIFF's frame count, walked no further than the pages that may be read.

    Pillow's ``n_frames`` walks every page header, in time quadratic in their number: a file chaining
    100,000 headers would take minutes before its first page is read.
    """
    needed = limits.max_pages if limits.pages is None else min(max(limits.pages) + 1, _OPEN_END)
    count = 0
    try:
        while count <= needed:
            im.seek(count)
            count += 1
    except EOFError:
        pass
    except _DECODE_ERRORS as e:
        if count == 0:
            raise CorruptImage(f"cannot read frame 1: {e}", source=source) from None
    finally:
        with contextlib.suppress(*_DECODE_ERRORS):
            im.seek(0)
    if count > needed and limits.pages is None:
        raise ImageTooLarge(
            f"more than {limits.max_pages} pages exceeds the limit (set max_pages= or --max-pages, "
            "or choose pages with --pages)",
            source=source,
        )
    return count


def _seek(im: Image.Image, index: int, source: str) -> None:
    try:
        im.seek(index)
    except _DECODE_ERRORS as e:
        raise CorruptImage(f"cannot read frame {index + 1}: {e}", source=source) from None


def _decode(im: Image.Image, fmt: str | None, source: str, what: str) -> Image.Image:
    """Decode every pixel now (so truncation surfaces here) and apply the EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"{e} (set max_pixels= or --max-pixels)", source=source) from None
    except _DECODE_ERRORS as e:
        raise CorruptImage(f"cannot decode the {_fmt_name(fmt)} {what}: {e}", source=source) from None
    return _exif_upright(im)


def _exif_upright(im: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation tag says; as stored when that metadata is damaged.

    A broken EXIF block does not make the pixels unreadable, so it is not worth refusing the page.
    """
    try:
        turned = ImageOps.exif_transpose(im)
    except _DECODE_ERRORS:
        return im
    return im if turned is None else turned


def _file_dpi(im: Image.Image) -> float | None:
    """The horizontal resolution stored in the file; None when absent or a placeholder (0 or 1)."""
    dpi = im.info.get("dpi")
    try:
        value = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi)
    except (TypeError, ValueError, IndexError):
        return None
    if not math.isfinite(value) or value <= 1:
        return None
    # PNG and BMP store whole pixels per metre, so 300 dpi reads back as 299.9994 and 96 as 96.012.
    return float(round(value)) if abs(value - round(value)) < 0.02 else value


# ---------------------------------------------------------------- colour normalisation


def _pil_to_rgb(im: Image.Image, source: str) -> np.ndarray:
    """Any Pillow mode as RGB uint8: transparency over white, CMYK through its ICC profile."""
    mode = im.mode
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _gray_to_rgb(_scale_to_uint8(np.asarray(im), mode))
    if mode == "CMYK":
        return _cmyk_to_rgb(im)
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.ascontiguousarray(np.asarray(Image.alpha_composite(white, rgba).convert("RGB")))
    try:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except ValueError as e:
        raise UnsupportedFormat(f"colour mode {mode} is not supported: {e}", source=source) from None


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return True
    return im.mode in ("P", "L", "RGB") and "transparency" in im.info


def _scale_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Map high-bit-depth gray to 0..255 by its range (65535 -> 255), never by clipping."""
    values = values.astype(np.float64)
    if mode == "F" and values.size and float(np.nanmax(values)) <= 1.0:
        top = 1.0  # float images conventionally hold 0..1
    elif mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
        # 32-bit integer data with no fixed range: stretch what is there.
        low, high = float(values.min()), float(values.max())
        values = values - low
        top = max(high - low, 1.0)
    else:
        top = 65535.0
    return np.clip(np.rint(np.nan_to_num(values) * (255.0 / top)), 0, 255).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _cmyk_to_rgb(im: Image.Image) -> np.ndarray:
    """CMYK through its embedded ICC profile to sRGB, else by the standard (1-C)(1-K) formula."""
    profile = im.info.get("icc_profile")
    if profile:
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, source_profile, srgb, outputMode="RGB")
            if converted is not None:
                return np.ascontiguousarray(np.asarray(converted, dtype=np.uint8))
    cmyk = np.asarray(im, dtype=np.float64) / 255.0
    ink = (1.0 - cmyk[:, :, :3]) * (1.0 - cmyk[:, :, 3:4])
    return np.ascontiguousarray(np.rint(ink * 255.0).astype(np.uint8))


def _array_to_rgb(array: np.ndarray, source: str, limits: _Limits) -> np.ndarray:
    """A caller's array (gray, RGB or RGBA; uint8, uint16, bool or float 0..1) as a new RGB uint8 array."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise UnsupportedFormat(
            f"array of shape {array.shape} is not an image (expected H×W, H×W×3 RGB or H×W×4 RGBA)",
            source=source,
        )
    _check_size(int(array.shape[1]), int(array.shape[0]), source, limits, "array")
    values = _array_to_uint8(array, source)
    if values.ndim == 2:
        return _gray_to_rgb(values)
    if values.shape[2] == 4:
        alpha = values[:, :, 3:4].astype(np.float64) / 255.0
        over_white = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(np.rint(over_white).astype(np.uint8))
    return np.array(values, dtype=np.uint8, order="C", copy=True)


def _array_to_uint8(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return _scale_to_uint8(array, "I;16")
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
            raise UnsupportedFormat("float array values must lie in [0, 1] (or pass uint8 0..255)", source=source)
        return _scale_to_uint8(array, "F")
    raise UnsupportedFormat(
        f"array dtype {array.dtype} is not supported (pass uint8, uint16, bool or float in [0, 1])",
        source=source,
    )


# ---------------------------------------------------------------- PDF


def _pdf_pages(path: str, source: str, limits: _Limits) -> Iterator[PageImage]:
    """Each selected page, rendered at ``limits.dpi`` by the renderer process after a size check."""
    pdf_limits = limits.pdf()
    count = pdf_page_count(path, pdf_limits, source)
    file_source = None if source.startswith("<") else source
    for index in limits.wanted(count, source):
        image = render_pdf_page(path, index, count, pdf_limits, source)
        yield PageImage(image, index, file_source, limits.dpi, count)
