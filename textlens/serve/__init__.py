"""The HTTP service (``textlens serve``): a FastAPI app over the same ``OCR`` calls as the command line.

``config.py`` holds the limits and sizes, ``worker.py`` what runs in each worker process (models loaded once per
worker), ``pool.py`` the pool of those processes, ``metrics.py`` the Prometheus metrics, ``app.py`` the routes and
``server.py`` uvicorn with a JSON-lines access log and a graceful shutdown (docs/serving.md). FastAPI, uvicorn,
python-multipart and prometheus-client come with the ``serve`` extra; only ``textlens studio`` imports from it
(``graceful.py``, uvicorn alone).
"""

from __future__ import annotations

from textlens.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """The FastAPI application (:func:`textlens.serve.app.create_app`)."""
    from textlens.serve.app import create_app as _create_app

    return _create_app(*args, **kwargs)
