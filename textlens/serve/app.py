"""The routes of ``textlens serve``: read, recognise, extract, health, readiness, metrics (FastAPI; docs/serving.md).

Every request to ``/v1/`` passes the API key (when one is set), is admitted only while fewer than ``workers +
max_queue`` are in hand (else 503 with ``Retry-After``), has its body read up to ``max_bytes`` (else 413), and runs
in the backend's workers within ``timeout`` seconds (else 504). Errors are JSON ``{"error": name, "message":
text}``: the textlens error's class and its message, which names the input and the problem.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from textlens import __version__
from textlens.errors import ConfigError
from textlens.extract import list_tasks
from textlens.io.limits import parse_page_ranges
from textlens.serve.config import ServeConfig
from textlens.serve.metrics import Metrics
from textlens.serve.pool import ProcessBackend
from textlens.serve.worker import MEDIA_TYPES, Done, ExtractJob, Failed, Job, ReadJob, RecognizeJob

access_log = logging.getLogger("textlens.serve.access")
log = logging.getLogger(__name__)

ROUTES = ("/v1/read", "/v1/recognize", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")
Format = Literal["json", "text", "hocr", "alto", "tsv", "pdf"]
Domain = Literal["auto", "document", "scene"]

_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_CROPS = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "X-API-Key missing or wrong"},
    413: {"description": "too many bytes, pixels, pages or crops"},
    422: {"description": "the input cannot be read, or an option is invalid"},
    503: {"description": "the queue is full (Retry-After says when to try again)"},
    504: {"description": "reading took longer than the server's timeout"},
}


class ServeError(Exception):
    """An answer other than 200, as JSON naming the problem."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers or {}


class _Admission:
    """The bounded queue: at most ``capacity`` requests in hand, of which ``workers`` run and the rest wait."""

    def __init__(self, config: ServeConfig, metrics: Metrics) -> None:
        self.config, self.metrics, self.pending = config, metrics, 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.pending >= self.config.capacity:
            raise ServeError(
                503,
                "QueueFull",
                f"the server is busy: {self.pending} requests in hand, the limit is {self.config.capacity} "
                f"({self.config.workers} workers + a queue of {self.config.max_queue}); retry later",
                {"Retry-After": str(self.config.retry_after)},
            )
        self._move(+1)
        try:
            yield
        finally:
            self._move(-1)

    def _move(self, step: int) -> None:
        self.pending += step
        self.metrics.in_flight.set(self.pending)
        self.metrics.queue_depth.set(max(0, self.pending - self.config.workers))


def create_app(config: ServeConfig | None = None, backend: Any = None) -> FastAPI:
    """The service for ``config``; ``backend`` runs the jobs (default: a pool of ``config.workers`` processes, see
    ``textlens.serve.pool``; tests hand in a ``ThreadBackend`` over a fake reader)."""
    config = config or ServeConfig()
    backend = backend or ProcessBackend(config.workers, config.threads, config.lang, config.domain)
    metrics = Metrics()
    admission = _Admission(config, metrics)
    routes = {*ROUTES, *(f"/v1/extract/{task}" for task in list_tasks())}  # a bounded set of metric labels

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend.start()
        try:
            yield
        finally:  # uvicorn has answered every request in flight by now; the pool finishes what it holds
            await asyncio.to_thread(backend.close)

    app = FastAPI(
        title="textlens",
        version=__version__,
        description="OCR over HTTP: the same reading as `textlens read` (docs/serving.md).",
        lifespan=lifespan,
    )
    app.state.config, app.state.backend, app.state.metrics, app.state.admission = config, backend, metrics, admission

    async def run(job: Job) -> Done:
        future = backend.submit(job, config.timeout)
        grace = getattr(backend, "grace", 0.0)
        try:
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), config.timeout + grace)
        except (TimeoutError, asyncio.TimeoutError, FutureTimeout):  # one class from Python 3.11 on
            future.cancel()
            raise ServeError(
                504, "Timeout", f"reading took longer than {config.timeout:g} s and was stopped (--timeout)"
            ) from None
        except OSError as exc:  # pebble's ProcessExpired: the worker died (killed, or crashed in native code)
            raise ServeError(
                500, "WorkerDied", f"the worker process reading it died ({exc}); it has been replaced"
            ) from None
        except Exception as exc:  # the pool itself failed: answer JSON, keep the details in the log
            log.exception("the worker pool failed")
            raise ServeError(500, "InternalError", f"the worker pool failed ({type(exc).__name__})") from None
        if isinstance(outcome, Failed):
            raise ServeError(outcome.status, outcome.error, outcome.message, outcome.headers)
        metrics.pages.inc(outcome.pages)
        return outcome

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError) -> JSONResponse:
        return _error(request, exc.status, exc.error, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(request, 422, "InvalidOption", problems)

    @app.middleware("http")
    async def _observe(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id", "")[:128] or uuid.uuid4().hex
        route = request.url.path if request.url.path in routes else "other"
        if config.api_key and request.url.path.startswith("/v1/") and not _key_ok(request, config.api_key):
            response: Response = _error(request, 401, "Unauthorized", "a valid X-API-Key header is required")
        else:
            response = await call_next(request)
        seconds = time.perf_counter() - started
        response.headers["X-Request-ID"] = request_id
        metrics.requests.labels(route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(seconds)
        error = getattr(request.state, "error", None)
        if response.status_code >= 400:
            metrics.errors.labels(route, error or str(response.status_code)).inc()
        access_log.info(
            "%s %s %d",
            request.method,
            request.url.path,
            response.status_code,
            extra={
                "access": {
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.url.query,
                    "status": response.status_code,
                    "seconds": round(seconds, 4),
                    "bytes_in": int(request.headers.get("content-length") or 0),
                    "pages": getattr(request.state, "pages", None),
                    "error": error,
                    "client": request.client.host if request.client else None,
                }
            },
        )
        return response

    @app.post("/v1/read", openapi_extra=_UPLOAD, responses=_ERRORS)
    async def read(
        request: Request,
        lang: str | None = Query(None, description="a language code of `textlens languages`, or auto"),
        domain: Domain | None = Query(None, description="document (scans), scene (photos) or auto"),
        pages: str | None = Query(None, description="pages to read, counted from 1: 1-5,9"),
        format: Format = Query("json", description="the document model (json) or a rendering"),
    ) -> Response:
        """Read an image or PDF (the request body, or one multipart file): the document model of
        docs/document-json.md, or `?format=` text, hocr, alto, tsv or pdf (searchable)."""
        try:
            selected = parse_page_ranges(pages) if pages else None
        except ConfigError as exc:
            raise ServeError(422, "InvalidOption", str(exc)) from None
        async with admission.slot():
            name, data = await _one_upload(request, config.max_bytes, "to read")
            job = ReadJob(
                data, name, lang, domain or config.domain, selected, format, config.max_pixels, config.max_pages
            )
            outcome = await run(job)
        request.state.pages = outcome.pages
        headers = {"X-Textlens-Pages": str(outcome.pages)}
        if format == "json":
            return JSONResponse(outcome.body, headers=headers)
        return Response(outcome.body, media_type=MEDIA_TYPES[format], headers=headers)

    @app.post("/v1/recognize", openapi_extra=_CROPS, responses=_ERRORS)
    async def recognize(
        request: Request,
        lang: str | None = Query(None, description="a language code: picks the recogniser"),
    ) -> JSONResponse:
        """Recognise word or line crops without detection: one image as the body, or several multipart files;
        the texts and confidences in the order sent."""
        async with admission.slot():
            files = await _uploads(request, config.max_bytes)
            if len(files) > config.max_crops:
                raise ServeError(
                    413, "TooManyCrops", f"{len(files)} crops exceed the limit of {config.max_crops} (--max-crops)"
                )
            job = RecognizeJob(tuple(d for _, d in files), tuple(n or "" for n, _ in files), lang, config.max_pixels)
            outcome = await run(job)
        request.state.pages = outcome.pages
        return JSONResponse(outcome.body)

    @app.post("/v1/extract/{task}", openapi_extra=_UPLOAD, responses={**_ERRORS, 404: {"description": "no such task"}})
    async def extract(
        request: Request,
        task: str,
        lang: str | None = Query(None, description="a language code of `textlens languages`, or auto"),
        domain: Domain | None = Query(None, description="document (scans), scene (photos) or auto"),
        pages: str | None = Query(None, description="pages to read, counted from 1: 1-5,9"),
        region: str | None = Query(None, description="card: region of national phone numbers (DE, GB, US …)"),
    ) -> JSONResponse:
        """Read an image or PDF and extract the fields of `task` (receipt, form, card; docs/extraction.md): each
        field's value, the string as printed, its confidence and word boxes."""
        if task not in list_tasks():
            raise ServeError(404, "UnknownTask", f"no extraction task {task!r} (one of {', '.join(list_tasks())})")
        if region is not None and (len(region) != 2 or not region.isalpha()):
            raise ServeError(422, "InvalidOption", f"region is a two-letter region code (got {region!r})")
        try:
            selected = parse_page_ranges(pages) if pages else None
        except ConfigError as exc:
            raise ServeError(422, "InvalidOption", str(exc)) from None
        async with admission.slot():
            name, data = await _one_upload(request, config.max_bytes, "to read")
            job = ExtractJob(
                data,
                task,
                name,
                lang,
                domain or config.domain,
                selected,
                region.upper() if region else None,
                config.max_pixels,
                config.max_pages,
            )
            outcome = await run(job)
        request.state.pages = outcome.pages
        return JSONResponse(outcome.body, headers={"X-Textlens-Pages": str(outcome.pages)})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "the workers are still loading their models"}})
    async def readyz() -> JSONResponse:
        """Every worker has loaded its models."""
        ready = backend.ready()
        body = {"status": "ready" if ready else "loading", "workers": config.workers}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus text format."""
        metrics.workers_ready.set(1 if backend.ready() else 0)
        return Response(metrics.render(), media_type=metrics.content_type)

    return app


def _key_ok(request: Request, key: str) -> bool:
    given = request.headers.get("x-api-key", "")
    return hmac.compare_digest(given.encode(), key.encode())


def _error(
    request: Request, status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request.state.error = error
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


async def _one_upload(request: Request, limit: int, purpose: str) -> tuple[str | None, bytes]:
    files = await _uploads(request, limit)
    if len(files) != 1:
        raise ServeError(422, "InvalidRequest", f"send one file {purpose}, not {len(files)}")
    return files[0]


async def _uploads(request: Request, limit: int) -> list[tuple[str | None, bytes]]:
    """The files of a request: each multipart file part, or the raw body as one file; at most ``limit`` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(int(length), limit)
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise ServeError(422, "EmptyRequest", "the request has no image: send the file as the body or a multipart file")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return [(None, body)]

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=100_000)
        files = [(v.filename, await v.read()) for _, v in form.multi_items() if isinstance(v, UploadFile)]
        await form.close()
    except HTTPException as exc:
        raise ServeError(422, "InvalidRequest", f"the multipart body cannot be read: {exc.detail}") from None
    if not files:
        raise ServeError(422, "EmptyRequest", "the multipart body has no file part")
    return files


def _too_large(size: int, limit: int) -> ServeError:
    return ServeError(413, "TooLarge", f"the request body of {size} bytes exceeds the limit of {limit} (--max-bytes)")
