"""Run the service under uvicorn: JSON-lines logs on standard error, and a graceful stop on SIGTERM or Ctrl-C.

On SIGTERM uvicorn stops accepting connections, waits for the requests in flight to be answered, then the app's
lifespan closes the worker pool once its jobs are done; the process then exits 0 (uvicorn would otherwise raise
the signal again after its shutdown, ending the process by the signal).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import uvicorn

from textlens.serve.app import create_app
from textlens.serve.config import ServeConfig
from textlens.serve.graceful import GracefulServer


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and an access record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "access", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def setup_json_logging(level: int = logging.INFO, stream: Any = None) -> logging.Handler:
    """Send the ``textlens`` and ``uvicorn`` loggers to ``stream`` (stderr) as JSON lines, in place of their other
    handlers (the command line's console handler included)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    for name in ("textlens", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    return handler


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 8000, log_level: int = logging.INFO) -> None:
    """Serve ``config`` on ``host:port`` until SIGTERM or Ctrl-C (then drain and return)."""
    setup_json_logging(log_level)
    app = create_app(config)
    server = GracefulServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # our JSON handler, not uvicorn's coloured one
            access_log=False,  # textlens.serve.access writes one JSON line per request instead
            timeout_graceful_shutdown=None,  # wait for every request in flight
            lifespan="on",
        )
    )
    server.run()
