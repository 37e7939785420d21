"""uvicorn's server that returns normally (exit 0) after a graceful stop on SIGTERM or Ctrl-C.

uvicorn re-raises the signal after draining, which ends the process with the signal's status; ``textlens serve``
and ``textlens studio`` drain and then return. Kept apart from ``server.py`` so the studio can use it without
loading the service's app.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, ending normally after a graceful shutdown on a signal (not raising the signal again)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
