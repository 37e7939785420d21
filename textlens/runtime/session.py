"""onnxruntime sessions tuned for CPU inference, created once per (model file, thread count).

Threads: the ``threads`` argument, else the ``TEXTLENS_THREADS`` environment variable, else 0, which
lets onnxruntime use one thread per physical core. Sessions run operators sequentially
(``inter_op_num_threads = 1``): recognisers and detectors are chains of layers, so parallelism
inside each operator is what pays.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, MissingWeights, ModelError
from textlens.runtime.offline import import_onnxruntime

THREADS_ENV = "TEXTLENS_THREADS"

_CACHE: dict[tuple[str, int, int, int], Any] = {}
_LOCK = threading.Lock()


def resolve_threads(threads: int | None = None) -> int:
    """The intra-op thread count: ``threads``, else $TEXTLENS_THREADS, else 0 (onnxruntime's default)."""
    if threads is None:
        raw = os.environ.get(THREADS_ENV, "").strip()
        if not raw:
            return 0
        try:
            threads = int(raw)
        except ValueError as exc:
            raise ConfigError(f"{THREADS_ENV} must be a whole number, got {raw!r}") from exc
    if threads < 0:
        raise ConfigError(f"threads must be 0 (automatic) or more, got {threads}")
    return threads


def session_options(threads: int | None = None) -> Any:
    """SessionOptions: full graph optimisation, sequential execution, the resolved thread count."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = resolve_threads(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: shape-inference warnings are noise for users
    return options


def create_session(path: str | Path, threads: int | None = None) -> Any:
    """A new CPU InferenceSession for the ONNX file at ``path``; errors name the file (no network: see ``offline``)."""
    ort = import_onnxruntime()

    path = Path(path)
    if not path.is_file():
        raise MissingWeights("ONNX model file not found", path)
    try:
        return ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception types for bad or damaged models
        raise ModelError(f"onnxruntime cannot load the model ({exc})", path) from exc


def get_session(path: str | Path, threads: int | None = None) -> Any:
    """The cached session for ``path`` and ``threads`` (a file rewritten since is loaded again)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise MissingWeights("ONNX model file not found", path)
    stat = path.stat()
    key = (str(path), resolve_threads(threads), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        session = _CACHE.get(key)
        if session is None:
            session = create_session(path, threads)
            _CACHE[key] = session
    return session


def clear_cache() -> None:
    """Forget every cached session (for benchmarks measuring cold start, and for tests)."""
    with _LOCK:
        _CACHE.clear()
