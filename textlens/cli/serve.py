"""``textlens serve``: the HTTP service (FastAPI + uvicorn; the ``serve`` extra; docs/serving.md).

Logs are JSON lines on standard error (one access record per request; ``-q``: warnings and errors only).
SIGTERM or Ctrl-C stops accepting, answers the requests in flight, stops the workers and exits 0.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from textlens.cli.common import EXIT_USAGE, console
from textlens.io.limits import DEFAULT_MAX_PIXELS
from textlens.serve.config import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CROPS,
    DEFAULT_MAX_PAGES,
    DEFAULT_TIMEOUT,
)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Worker processes reading (each loads the models once).")
    ] = 1,
    threads: Annotated[int, typer.Option(min=1, help="onnxruntime threads in each worker.")] = 1,
    max_queue: Annotated[
        int, typer.Option(min=0, help="Requests waiting for a worker beyond which the server answers 503.")
    ] = 8,
    max_bytes: Annotated[int, typer.Option(min=1, help="Largest request body, in bytes (413 above).")] = (
        DEFAULT_MAX_BYTES
    ),
    max_pixels: Annotated[int, typer.Option(min=1, help="Largest page or crop, in pixels (413 above).")] = (
        DEFAULT_MAX_PIXELS
    ),
    max_pages: Annotated[int, typer.Option(min=1, help="Most pages read per request (413 above).")] = (
        DEFAULT_MAX_PAGES
    ),
    max_crops: Annotated[int, typer.Option(min=1, help="Most crops per /v1/recognize request.")] = DEFAULT_MAX_CROPS,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a request may take in its worker (504 after; worker replaced).")
    ] = DEFAULT_TIMEOUT,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="TEXTLENS_API_KEY", help="Require this key in the X-API-Key header of /v1/ requests."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Default language of requests without ?lang=.")] = None,
    domain: Annotated[str, typer.Option(help="Default domain: auto, document or scene.")] = "auto",
) -> None:
    """Serve OCR over HTTP: POST /v1/read, POST /v1/recognize, GET /healthz, /readyz, /metrics, /docs."""
    try:
        from textlens.serve.server import serve as run_server
    except ImportError as exc:
        from rich.markup import escape

        message = f"textlens serve needs the serve extra: pip install 'textlens[serve]' ({exc})"
        console.print(f"[red]error[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    from textlens.serve.config import ServeConfig

    if domain not in ("auto", "document", "scene"):
        console.print(f"[red]usage error[/red] --domain {domain!r}: one of auto, document, scene", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    config = ServeConfig(
        workers=workers,
        max_queue=max_queue,
        threads=threads,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        max_pages=max_pages,
        max_crops=max_crops,
        timeout=timeout,
        api_key=api_key or None,
        lang=lang,
        domain=domain,
    )
    run_server(config, host=host, port=port, log_level=_log_level())


def _log_level() -> int:
    """INFO (one access line per request) unless -q (warnings and errors only) or -vv (debug)."""
    from textlens.cli.logs import current_level

    level = current_level()
    return logging.WARNING if level > logging.WARNING else min(level, logging.INFO)
