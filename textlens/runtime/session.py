"""onnxruntime sessions tuned for CPU inference, created once per (model file, thread count, providers).

Threads: the ``threads`` argument, else the ``TEXTLENS_THREADS`` environment variable, else 0, which
lets onnxruntime use one thread per physical core. Sessions run operators sequentially
(``inter_op_num_threads = 1``): recognisers and detectors are chains of layers, so parallelism
inside each operator is what pays.

Providers: CPU unless asked otherwise. ``resolve_providers(device="cuda")`` picks onnxruntime's
``CUDAExecutionProvider`` (the ``onnxruntime-gpu`` package), with the CPU provider after it for the operators
CUDA lacks; ``device="auto"`` takes CUDA when it is available and CPU otherwise; an explicit ``providers`` list
is checked against ``onnxruntime.get_available_providers()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, MissingWeights, ModelError
from textlens.runtime.offline import import_onnxruntime

THREADS_ENV = "TEXTLENS_THREADS"
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("cpu", "cuda", "auto")

# A provider as onnxruntime takes it: a name, or (name, options dict).
Provider = str | tuple[str, dict[str, Any]]

_CACHE: dict[tuple[Any, ...], Any] = {}
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


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers (``onnxruntime.get_available_providers()``)."""
    return list(import_onnxruntime().get_available_providers())


def _provider_name(provider: Provider) -> str:
    if isinstance(provider, str):
        return provider
    if isinstance(provider, (tuple, list)) and len(provider) == 2 and isinstance(provider[0], str):
        return provider[0]
    raise ConfigError(f"a provider is a name or (name, options), got {provider!r}")


def resolve_providers(device: str | None = None, providers: Sequence[Provider] | None = None) -> list[Provider]:
    """The providers a session runs on, best first, always ending with the CPU provider.

    ``providers`` (names or ``(name, options)`` pairs) wins over ``device``; each must be available.
    ``device``: ``"cpu"`` (or None), ``"cuda"`` / ``"cuda:N"`` (GPU N; a ConfigError when onnxruntime has no
    CUDA provider, i.e. ``onnxruntime-gpu`` is not installed), or ``"auto"`` (CUDA when available, else CPU).
    """
    available = available_providers()
    if providers is not None:
        chosen = list(providers)
        if not chosen:
            raise ConfigError("providers is empty; leave it out for the CPU")
        missing = [_provider_name(p) for p in chosen if _provider_name(p) not in available]
        if missing:
            raise ConfigError(
                f"onnxruntime offers no {', '.join(missing)} here (available: {', '.join(available)}); "
                "for CUDA install onnxruntime-gpu in place of onnxruntime"
            )
        if CPU not in [_provider_name(p) for p in chosen]:
            chosen.append(CPU)
        return chosen
    name = (device or "cpu").strip().lower()
    base, _, index = name.partition(":")
    if base == "gpu":
        base = "cuda"
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise ConfigError(f"unknown device {device!r} (cpu, cuda, cuda:N or auto)")
    if base == "cpu" or (base == "auto" and CUDA not in available):
        return [CPU]
    if CUDA not in available:
        raise ConfigError(
            f"device {device!r} needs onnxruntime's CUDA provider, which this onnxruntime lacks "
            f"(available: {', '.join(available)}): pip uninstall onnxruntime && pip install onnxruntime-gpu"
        )
    return [(CUDA, {"device_id": int(index)}) if index else CUDA, CPU]


def _providers_key(providers: Sequence[Provider] | None) -> tuple[Any, ...]:
    if providers is None:
        return (CPU,)
    return tuple(p if isinstance(p, str) else (p[0], tuple(sorted(p[1].items()))) for p in providers)


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


def create_session(path: str | Path, threads: int | None = None, providers: Sequence[Provider] | None = None) -> Any:
    """A new InferenceSession for the ONNX file at ``path`` on ``providers`` (default: the CPU; see
    ``resolve_providers``); errors name the file (no network: see ``offline``)."""
    ort = import_onnxruntime()

    path = Path(path)
    if not path.is_file():
        raise MissingWeights("ONNX model file not found", path)
    try:
        return ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=list(providers) if providers else [CPU]
        )
    except Exception as exc:  # onnxruntime raises its own exception types for bad or damaged models
        raise ModelError(f"onnxruntime cannot load the model ({exc})", path) from exc


def get_session(path: str | Path, threads: int | None = None, providers: Sequence[Provider] | None = None) -> Any:
    """The cached session for ``path``, ``threads`` and ``providers`` (a file rewritten since is loaded again)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise MissingWeights("ONNX model file not found", path)
    stat = path.stat()
    key = (str(path), resolve_threads(threads), stat.st_mtime_ns, stat.st_size, _providers_key(providers))
    with _LOCK:
        session = _CACHE.get(key)
        if session is None:
            session = create_session(path, threads, providers)
            _CACHE[key] = session
    return session


def clear_cache() -> None:
    """Forget every cached session (for benchmarks measuring cold start, and for tests)."""
    with _LOCK:
        _CACHE.clear()
