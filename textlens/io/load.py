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
from PIL import Image, ImageFile, ImageOps

from textlens.errors import (
    CorruptImage,
    FileNotFound,
    ImageTooLarge,
    NotAFile,
    UnreadableFile,
    UnsupportedFormat,
)
from textlens.io.limits import (
    DEFAULT_DPI,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_PIXELS,
    MIN_SIDE,
    OPEN_END,
    Limits,
    check_options,
    check_size,
)
from textlens.io.pdf_pages import (
    DEFAULT_PDF_MEMORY_MB,
    DEFAULT_PDF_TIMEOUT,
    pdf_file,
    pdf_page_count,
    render_pdf_page,
)
from textlens.io.pixels import array_to_uint8, gray_to_rgb, pil_to_rgb
from textlens.io.sniff import SNIFF_BYTES, sniff_format, unsupported

Source = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray | Image.Image

# Exceptions Pillow's decoders raise on damaged data (it has no single base class for them).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error)


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
    limits = check_options(dpi, max_pixels, first_page_only, min_side, pages, max_pages, pdf_timeout, pdf_memory_mb)
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


def _path_pages(path: Path, limits: Limits) -> Iterator[PageImage]:
    _stat_file(path)
    source = str(path)
    with _open_file(path) as fp:
        fmt = _format_or_raise(_read(fp, SNIFF_BYTES, source), source)
        if fmt != "PDF":
            yield from _file_image_pages(fp, fmt, source, limits)
            return
    yield from _pdf_pages(source, source, limits)  # opened by the renderer from the path, never read whole


def _read(fp: IO[bytes], size: int, source: str) -> bytes:
    try:
        return fp.read(size)
    except OSError as e:
        raise UnreadableFile(f"cannot read the file: {e.strerror or e}", source=source) from None


def _bytes_pages(data: bytes, source: str, limits: Limits) -> Iterator[PageImage]:
    fmt = _format_or_raise(data[:SNIFF_BYTES], source)
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
        raise unsupported(head, source)
    return fmt


# ---------------------------------------------------------------- raster images


def _open_as(fp: IO[bytes], fmt: str, source: str) -> ImageFile.ImageFile:
    """Open ``fp`` with the decoder for ``fmt`` without decoding pixels.

    This is what ``Image.open`` does after sniffing, minus its global MAX_IMAGE_PIXELS check:
    our own limit (``max_pixels``, with W×H in its message) is applied right after. Some decoders (WebP)
    run Pillow's check inside their own opening, so it is switched off for the call (a process-wide
    setting of Pillow's, restored at once; it would otherwise refuse what ``max_pixels`` allows).
    """
    Image.init()
    factory, _accept = Image.OPEN[fmt]
    fp.seek(0)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = None
            return factory(fp, source)
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"{e} (set max_pixels= or --max-pixels)", source=source) from None
    except _DECODE_ERRORS as e:
        raise CorruptImage(f"not a valid {_fmt_name(fmt)} file, its header is damaged ({e})", source=source) from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def _fmt_name(fmt: str | None) -> str:
    return {"WEBP": "WebP", None: "image"}.get(fmt, fmt or "image")


def _file_image_pages(fp: IO[bytes], fmt: str, source: str, limits: Limits) -> Iterator[PageImage]:
    im = _open_as(fp, fmt, source)
    with im:
        yield from _pil_pages(im, source, limits)


def _pil_pages(im: Image.Image, source: str, limits: Limits) -> Iterator[PageImage]:
    """Each selected page of an opened image: the frames of a TIFF, the first frame of anything else."""
    fmt = im.format
    count = _frame_count(im, source, limits) if fmt == "TIFF" and not limits.first_page_only else 1
    for index in limits.wanted(count, source):
        if count > 1:
            _seek(im, index, source)
        what = f"frame {index + 1} of {count}" if count > 1 else "image"
        check_size(im.width, im.height, source, limits, what)
        frame = _decode(im, fmt, source, what)
        page_source = None if source.startswith("<") else source  # "<bytes>" is not a file
        yield PageImage(pil_to_rgb(frame, source), index, page_source, _file_dpi(im), count)


def _frame_count(im: Image.Image, source: str, limits: Limits) -> int:
    """The TIFF's frame count, walked no further than the pages that may be read.

    Pillow's ``n_frames`` walks every page header, in time quadratic in their number: a file chaining
    100,000 headers would take minutes before its first page is read.
    """
    needed = limits.max_pages if limits.pages is None else min(max(limits.pages) + 1, OPEN_END)
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


# ---------------------------------------------------------------- arrays


def _array_to_rgb(array: np.ndarray, source: str, limits: Limits) -> np.ndarray:
    """A caller's array (gray, RGB or RGBA; uint8, uint16, bool or float 0..1) as a new RGB uint8 array."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise UnsupportedFormat(
            f"array of shape {array.shape} is not an image (expected H×W, H×W×3 RGB or H×W×4 RGBA)",
            source=source,
        )
    check_size(int(array.shape[1]), int(array.shape[0]), source, limits, "array")
    values = array_to_uint8(array, source)
    if values.ndim == 2:
        return gray_to_rgb(values)
    if values.shape[2] == 4:
        alpha = values[:, :, 3:4].astype(np.float64) / 255.0
        over_white = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(np.rint(over_white).astype(np.uint8))
    return np.array(values, dtype=np.uint8, order="C", copy=True)


# ---------------------------------------------------------------- PDF


def _pdf_pages(path: str, source: str, limits: Limits) -> Iterator[PageImage]:
    """Each selected page, rendered at ``limits.dpi`` by the renderer process after a size check."""
    pdf_limits = limits.pdf()
    count = pdf_page_count(path, pdf_limits, source)
    file_source = None if source.startswith("<") else source
    for index in limits.wanted(count, source):
        image = render_pdf_page(path, index, count, pdf_limits, source)
        yield PageImage(image, index, file_source, limits.dpi, count)
