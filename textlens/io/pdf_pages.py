"""PDF pages rendered in a child process with a time and memory limit, so a hostile PDF fails alone.

PDFium runs in C: a crafted file (a form XObject that draws itself, a page tree that loops) can make it
render forever, allocate gigabytes and ignore Ctrl-C. textlens therefore never renders in its own
process. One renderer process per textlens process (started on the first PDF: a fresh interpreter holding no onnxruntime
threads and not re-running the caller's script) opens the PDF
*from its path* (never reading the whole file into memory), reports the page count, and renders one
page per call. Its address space is capped (``RLIMIT_AS``) and every call has a deadline; a call that
overruns is killed with its process, and the page fails with a clear ``CorruptImage`` naming the file,
the page and the limit. The next call starts a fresh renderer, so a batch goes on.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from textlens.errors import CorruptImage, EmptyDocument, EncryptedDocument, ImageTooLarge, ImageTooSmall, InputError

#: Seconds one PDF page may take to open or render before its renderer is killed.
DEFAULT_PDF_TIMEOUT = 60.0
#: Address space of the renderer process (MiB): a page at the default pixel limit renders well inside it.
DEFAULT_PDF_MEMORY_MB = 1536
_PDF_POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class PdfLimits:
    """What one PDF page may cost: pixels, seconds and renderer memory."""

    dpi: float
    max_pixels: int
    min_side: int
    timeout: float = DEFAULT_PDF_TIMEOUT
    memory_mb: int = DEFAULT_PDF_MEMORY_MB


# ---------------------------------------------------------------- the parent's side


class _Renderer:
    """The renderer process: one at a time, restarted after a kill; calls are serialised by a lock.

    It is a plain ``python -c`` child (see ``_CHILD``) speaking length-prefixed pickles over its
    standard input and output (only this process and its own child ever read them). Not multiprocessing:
    its ``spawn`` start re-imports the caller's main script, which a library must never do.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._memory_mb: int | None = None
        self._lock = threading.Lock()

    def call(self, function: str, args: tuple[Any, ...], limits: PdfLimits, source: str, what: str) -> Any:
        with self._lock:
            process = self._ensure(limits.memory_mb)
            try:
                _send(process, (function, args))
                outcome = _receive(process, time.monotonic() + limits.timeout)
            except TimeoutError:
                self._kill()
                raise CorruptImage(
                    f"{what}: rendering took longer than {limits.timeout:g} s and was stopped "
                    "(a damaged or hostile PDF; raise the limit with --pdf-timeout)",
                    source=source,
                ) from None
            except (EOFError, OSError):
                code = self._kill()
                raise CorruptImage(
                    f"{what}: the PDF renderer died ({_exit_reason(code)}); it may have needed more than its "
                    f"memory limit of {limits.memory_mb} MiB (raise it with --pdf-memory)",
                    source=source,
                ) from None
            except BaseException:  # Ctrl-C or anything unexpected: the page may still be rendering
                self._kill()
                raise
        return _unwrap(outcome, source)

    def _ensure(self, memory_mb: int) -> subprocess.Popen[bytes]:
        if self._process is not None and (self._memory_mb != memory_mb or self._process.poll() is not None):
            self._kill()
        if self._process is None:
            environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(memory_mb)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=environment,
                close_fds=True,
            )
            self._memory_mb = memory_mb
        return self._process

    def _kill(self) -> int | None:
        """Stop the renderer now (a runaway render is killed, not waited for); the next call starts one."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        return process.wait()

    def close(self) -> None:
        with self._lock:
            self._kill()


_CHILD = "import sys; from textlens.io.pdf_pages import serve; serve(int(sys.argv[1]))"


def _send(process: subprocess.Popen[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    process.stdin.write(struct.pack("<Q", len(data)) + data)  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]


def _receive(process: subprocess.Popen[bytes], deadline: float) -> Any:
    """The child's answer, waiting no later than ``deadline`` (TimeoutError) for every byte of it."""
    stream = process.stdout
    size = struct.unpack("<Q", _read_exactly(stream, 8, deadline))[0]
    return pickle.loads(_read_exactly(stream, size, deadline))  # our own child's answer, not a file's bytes


def _read_exactly(stream: Any, size: int, deadline: float) -> bytes:
    chunks, missing, fd = [], size, stream.fileno()
    while missing:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(missing, 1 << 22))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


_RENDERER = _Renderer()
atexit.register(_RENDERER.close)

_ERRORS: dict[str, type[InputError]] = {
    "corrupt": CorruptImage,
    "empty": EmptyDocument,
    "encrypted": EncryptedDocument,
    "too_large": ImageTooLarge,
    "too_small": ImageTooSmall,
}


def _unwrap(outcome: tuple[str, Any], source: str) -> Any:
    """The child answers ("ok", value) or (error kind, message): errors become our exceptions here."""
    kind, value = outcome
    if kind == "ok":
        return value
    raise _ERRORS.get(kind, CorruptImage)(value, source=source)


def pdf_page_count(path: str, limits: PdfLimits, source: str) -> int:
    """How many pages the PDF at ``path`` has (opened in the renderer process)."""
    return int(_RENDERER.call("count", (path,), limits, source, "opening the PDF"))


def render_pdf_page(path: str, index: int, count: int, limits: PdfLimits, source: str) -> np.ndarray:
    """Page ``index`` (0-based) of the PDF at ``path`` as RGB uint8, checked against ``limits`` first."""
    what = f"page {index + 1} of {count}"
    args = (path, index, what, limits.dpi, limits.max_pixels, limits.min_side)
    return _RENDERER.call("render", args, limits, source, what)


@contextlib.contextmanager
def pdf_file(data: bytes) -> Iterator[str]:
    """PDF bytes held in a private temporary file for the renderer, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix=".textlens-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def stop_renderer() -> None:
    """End the renderer process now (tests; long-lived hosts that are done with PDFs)."""
    _RENDERER.close()


# ---------------------------------------------------------------- the renderer process


_open_docs: dict[str, tuple[tuple[int, int], Any]] = {}


def serve(memory_mb: int) -> None:
    """The renderer's loop: cap its memory, leave Ctrl-C to the parent (which stops it), answer requests."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    handlers = {"count": _child_count, "render": _child_render}
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while header := requests.read(8):
        name, args = pickle.loads(requests.read(struct.unpack("<Q", header)[0]))  # from our parent only
        try:
            outcome = handlers[name](*args)
        except MemoryError:
            outcome = ("corrupt", "the page needs more memory than the PDF renderer's limit (--pdf-memory)")
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(struct.pack("<Q", len(data)) + data)
        answers.flush()


def _child_document(path: str) -> Any:
    """The open document for ``path``, kept between calls for the same unchanged file."""
    import pypdfium2 as pdfium

    st = os.stat(path)
    key = (st.st_size, st.st_mtime_ns)
    cached = _open_docs.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    for _, doc in _open_docs.values():
        doc.close()
    _open_docs.clear()
    doc = pdfium.PdfDocument(path)
    with contextlib.suppress(pdfium.PdfiumError):
        doc.init_forms()  # without this, filled-in form fields would not be drawn
    _open_docs[path] = (key, doc)
    return doc


def _child_count(path: str) -> tuple[str, Any]:
    import pypdfium2 as pdfium

    try:
        doc = _child_document(path)
    except pdfium.PdfiumError as e:
        return _open_error(pdfium, path, e)
    except MemoryError:
        return ("corrupt", "cannot open the PDF: it needs more memory than the renderer's limit")
    count = len(doc)
    return ("empty", "the PDF has no pages") if count == 0 else ("ok", count)


def _child_render(path: str, index: int, what: str, dpi: float, max_pixels: int, min_side: int) -> tuple[str, Any]:
    import pypdfium2 as pdfium

    try:
        page = _child_document(path)[index]
    except (pdfium.PdfiumError, IndexError) as e:
        return ("corrupt", f"cannot read {what}: {e}")
    try:
        scale = dpi / _PDF_POINTS_PER_INCH
        width_pt, height_pt = page.get_size()
        # Same rounding as pypdfium2's render, so the check is on the bitmap it would allocate.
        width, height = int(np.ceil(width_pt * scale)), int(np.ceil(height_pt * scale))
        problem = _size_problem(width, height, max_pixels, min_side, f"{what} at {dpi:g} dpi")
        if problem is not None:
            return problem
        try:
            bitmap = page.render(scale=scale, rev_byteorder=True, fill_color=(255, 255, 255, 255))
        except (pdfium.PdfiumError, ValueError, MemoryError) as e:
            return ("corrupt", f"cannot render {what}: {e or type(e).__name__}")
        try:
            return ("ok", _bitmap_to_rgb(bitmap.to_numpy()))
        finally:
            bitmap.close()
    finally:
        page.close()


def _size_problem(width: int, height: int, max_pixels: int, min_side: int, what: str) -> tuple[str, str] | None:
    pixels = width * height
    if pixels > max_pixels:
        return (
            "too_large",
            f"{what}: {width}×{height} = {pixels} pixels exceeds the limit of {max_pixels} "
            "(set max_pixels= or --max-pixels, or a lower --dpi)",
        )
    if min(width, height) < min_side:
        return ("too_small", f"{what}: {width}×{height} pixels is too small to hold text")
    return None


def _bitmap_to_rgb(pixels: np.ndarray) -> np.ndarray:
    """A copy (the bitmap's buffer is freed on close) of pdfium's RGB/RGBx/gray pixels as RGB."""
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(np.array(pixels, dtype=np.uint8)[:, :, None], 3, axis=2))
    return np.array(pixels[:, :, :3], dtype=np.uint8, order="C", copy=True)


# A PDF that PDFium refuses with "incorrect password": loaded to reset PDFium's last-error code.
_PASSWORD_CANARY = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"3 0 obj<</Filter/Standard/V 1/R 2/P -4/O<" + b"00" * 32 + b">/U<" + b"00" * 32 + b">>>endobj\n"
    b"trailer<</Size 4/Root 1 0 R/Encrypt 3 0 R/ID[<00><00>]>>\n%%EOF\n"
)


def _open_error(pdfium: Any, path: str, error: Exception) -> tuple[str, str]:
    """The error for a PDF that PDFium refused to open.

    PDFium's error code is process-global and is *not* updated when a file parses but has no
    page tree, so it may be left over from an earlier file. A password error only counts when the
    file has an /Encrypt dictionary; otherwise the load is retried after a file that is known to
    set "incorrect password": if the code is still that, this file set none, i.e. it has no pages.
    """
    raw = pdfium.raw
    code = getattr(error, "err_code", None)
    encrypted = _mentions_encrypt(path)
    if encrypted and code == raw.FPDF_ERR_PASSWORD:
        return ("encrypted", "the PDF is password-protected")
    if encrypted and code == raw.FPDF_ERR_SECURITY:
        return ("encrypted", "the PDF uses an unsupported security handler")
    fresh = _load_error_code(pdfium, path)
    if fresh in (raw.FPDF_ERR_SUCCESS, raw.FPDF_ERR_PASSWORD):
        return ("empty", "the PDF has no pages (its page tree is empty or missing)")
    reason = {raw.FPDF_ERR_FORMAT: "it is not a valid PDF structure"}.get(fresh, f"PDFium error {fresh}")
    return ("corrupt", f"cannot open the PDF, it is damaged: {reason}")


def _mentions_encrypt(path: str, head: int = 1 << 20, tail: int = 4 << 20) -> bool:
    """Whether the file's first MiB or last 4 MiB (where trailers and their /Encrypt key live, incremental
    updates included) hold an /Encrypt key: a 1 GiB file is not read whole to find out."""
    with open(path, "rb") as f:
        start = f.read(head)
        size = os.fstat(f.fileno()).st_size
        f.seek(max(size - tail, len(start)))
        end = f.read(tail)
    return b"/Encrypt" in start or b"/Encrypt" in end


def _load_error_code(pdfium: Any, path: str) -> int | None:
    """PDFium's error code for ``path``, loaded right after the canary set it to "incorrect password"."""
    code = None
    for attempt in (_PASSWORD_CANARY, path):
        try:
            pdfium.PdfDocument(attempt).close()
            code = None
        except pdfium.PdfiumError as e:
            code = getattr(e, "err_code", None)
    return code
