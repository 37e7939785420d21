"""What runs in a worker process: the models, loaded once, and the jobs (read a document, recognise crops, extract
a task's fields).

A job never raises: its outcome is a :class:`Done` (the body to send and the pages read) or a :class:`Failed`
(the HTTP status, the error's name and a message naming the problem), so nothing but plain values crosses the
process boundary and no traceback reaches a client.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from typing import Any

from textlens.errors import ConfigError, ImageTooLarge, InputError, TextlensError

log = logging.getLogger(__name__)

#: The output formats of ``?format=`` and their media types.
MEDIA_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "hocr": "application/xhtml+xml; charset=utf-8",
    "alto": "application/xml; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ReadJob:
    """One document to read: its bytes, the query's options and the server's limits."""

    data: bytes
    name: str | None = None
    lang: str | None = None
    domain: str = "auto"
    pages: frozenset[int] | None = None
    fmt: str = "json"
    max_pixels: int | None = None
    max_pages: int | None = None


@dataclass(frozen=True)
class RecognizeJob:
    """Crops (each an encoded image) to recognise without detection."""

    crops: tuple[bytes, ...]
    names: tuple[str, ...] = ()
    lang: str | None = None
    max_pixels: int | None = None


@dataclass(frozen=True)
class ExtractJob:
    """One document to read and interpret as ``task`` (receipt, form, card: ``textlens.extract``)."""

    data: bytes
    task: str
    name: str | None = None
    lang: str | None = None
    domain: str = "auto"
    pages: frozenset[int] | None = None
    region: str | None = None
    max_pixels: int | None = None
    max_pages: int | None = None


Job = ReadJob | RecognizeJob | ExtractJob


@dataclass(frozen=True)
class Done:
    body: Any  # a dict (JSON), str (text formats) or bytes (pdf)
    pages: int = 0


@dataclass(frozen=True)
class Failed:
    status: int
    error: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def status_for(exc: TextlensError) -> int:
    """413 for what is too large (pixels, pages), 422 for input that cannot be read or a bad option, else 500."""
    if isinstance(exc, ImageTooLarge):
        return 413
    if isinstance(exc, (InputError, ConfigError)):
        return 422
    return 500


def failed(exc: TextlensError) -> Failed:
    return Failed(status_for(exc), type(exc).__name__, str(exc))


class Models:
    """The OCR engines of one process, one per (lang, domain), each loaded on first use and kept."""

    def __init__(self, threads: int | None = 1, lang: str | None = None, domain: str = "auto") -> None:
        self.threads = threads
        self.default = (lang, domain)
        self._engines: dict[tuple[str | None, str], Any] = {}
        self._extractors: dict[tuple[str, str | None], Any] = {}

    def get(self, lang: str | None = None, domain: str | None = None) -> Any:
        from textlens.pipeline import OCR

        key = (lang if lang is not None else self.default[0], domain or self.default[1])
        if key not in self._engines:
            self._engines[key] = OCR(lang=key[0], domain=key[1], threads=self.threads)
        return self._engines[key]

    def extractor(self, task: str, region: str | None = None) -> Any:
        """The extractor of ``task`` (a card's with its default phone ``region``), built on first use and kept."""
        from textlens.extract import get_extractor

        key = (task, region if task == "card" else None)
        if key not in self._extractors:
            self._extractors[key] = get_extractor(task, **({"region": region} if key[1] else {}))
        return self._extractors[key]

    def run(self, job: Job) -> Done | Failed:
        try:
            if isinstance(job, ReadJob):
                return self._read(job)
            if isinstance(job, ExtractJob):
                return self._extract(job)
            return self._recognize(job)
        except TextlensError as exc:
            # name the upload, not "<bytes>"
            if isinstance(job, (ReadJob, ExtractJob)) and exc.source in (None, "<bytes>"):
                exc = type(exc)(exc.problem, source=job.name or "the uploaded file")
            return failed(exc)
        except MemoryError:
            return Failed(507, "MemoryError", "the worker ran out of memory reading this input")
        except Exception as exc:  # a bug must answer 500 with its name, never end the worker or leak a traceback
            log.exception("unexpected error in a serve worker")
            return Failed(500, "InternalError", f"unexpected {type(exc).__name__}; see the server's log")

    def _document(self, job: ReadJob | ExtractJob) -> Any:
        options: dict[str, Any] = {}
        if job.max_pixels is not None:
            options["max_pixels"] = job.max_pixels
        if job.max_pages is not None:
            options["max_pages"] = job.max_pages
        ocr = self.get(job.lang, job.domain)
        document = ocr.read(job.data, pages=job.pages, **options)
        return _named(document, job.name) if job.name else document

    def _read(self, job: ReadJob) -> Done:
        document = self._document(job)
        pages = len(document.pages)
        if job.fmt == "json":
            return Done(document.to_dict(), pages)
        return Done(document.export(job.fmt), pages)

    def _extract(self, job: ExtractJob) -> Done:
        extractor = self.extractor(job.task, job.region)  # a missing model fails before the read, not after
        document = self._document(job)
        data = extractor.extract(document).to_dict()
        data["source"] = job.name
        return Done(data, len(document.pages))

    def _recognize(self, job: RecognizeJob) -> Done:
        from textlens.io.load import load_image

        options = {} if job.max_pixels is None else {"max_pixels": job.max_pixels}
        crops = []
        for i, data in enumerate(job.crops):
            name = job.names[i] if i < len(job.names) and job.names[i] else f"crop {i + 1}"
            crops.append(_load_crop(load_image, data, name, options))
        results = self.get(job.lang).recognizer.recognize(crops)
        return Done(
            {"results": [{"text": r.text, "confidence": round(float(r.confidence), 4)} for r in results]},
            len(crops),
        )


def _load_crop(load_image: Any, data: bytes, name: str, options: dict[str, Any]) -> Any:
    try:
        return load_image(data, min_side=1, **options).image
    except TextlensError as exc:
        raise type(exc)(exc.problem, source=name) from None


def _named(document: Any, name: str) -> Any:
    """The document with ``name`` (the upload's file name) as each page's source."""
    import dataclasses

    pages = tuple(dataclasses.replace(p, source=name) for p in document.pages)
    return dataclasses.replace(document, pages=pages)


# --- the process side: one Models per worker process -----------------------------------------------------------

_MODELS: Models | None = None


def init_worker(threads: int | None, lang: str | None, domain: str, loaded: Any = None) -> None:
    """The pool's initializer: load the default models once, then count this worker as ready in ``loaded`` (a
    shared ``multiprocessing.Value``). Ctrl-C in a terminal reaches the whole process group; the server, not its
    workers, decides when to stop, so they ignore SIGINT."""
    global _MODELS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))
    _MODELS = Models(threads, lang, domain)
    _MODELS.get()
    if loaded is not None:
        with loaded.get_lock():
            loaded.value += 1


def run_job(job: Job) -> Done | Failed:
    """Run ``job`` in this worker (the models are loaded here first if the initializer did not run)."""
    global _MODELS
    if _MODELS is None:
        _MODELS = Models()
    return _MODELS.run(job)
