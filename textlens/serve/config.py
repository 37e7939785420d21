"""The service's sizes and per-request limits, shared by the app, the pool and the command line."""

from __future__ import annotations

from dataclasses import dataclass

from textlens.io.limits import DEFAULT_MAX_PIXELS

#: The largest request body by default (an upload of a scanned PDF of a few dozen pages fits).
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
#: The most pages one /v1/read request reads by default (``--max-pages``); ``?pages=`` picks fewer.
DEFAULT_MAX_PAGES = 50
#: The most crops one /v1/recognize request holds by default.
DEFAULT_MAX_CROPS = 256
#: Seconds a request may spend in its worker by default (``--timeout``); then 504 and the worker is replaced.
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class ServeConfig:
    """What ``textlens serve`` was started with.

    ``workers`` processes read (each loads the models once); up to ``max_queue`` more requests wait for one, and
    any beyond that are answered 503 with ``Retry-After: retry_after``. ``max_bytes``, ``max_pixels`` (per page or
    crop), ``max_pages``, ``max_crops`` and ``timeout`` (seconds in a worker) bound each request. ``threads`` is
    onnxruntime's thread count in each worker. ``api_key``, when set, is required in the ``X-API-Key`` header of
    every ``/v1/`` request.
    """

    workers: int = 1
    max_queue: int = 8
    threads: int = 1
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_pages: int = DEFAULT_MAX_PAGES
    max_crops: int = DEFAULT_MAX_CROPS
    timeout: float = DEFAULT_TIMEOUT
    retry_after: int = 1
    api_key: str | None = None
    lang: str | None = None
    domain: str = "auto"

    @property
    def capacity(self) -> int:
        """Requests accepted at once: one per worker plus the queue."""
        return self.workers + self.max_queue
