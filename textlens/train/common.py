"""What every trainer shares (``train rec``, ``train det``, ``train glimpse``): the device and precision, data
loader workers, seeding, AdamW with its parameter groups and the step schedule, the ``--data`` source specs,
the export folder and the run summary.

Training never imports ``textlens.export``: a trainer writes ``OUT/export/`` (``config.json`` + fp16
``model.safetensors``) and, when its caller hands it a :data:`GraphExporter` (the CLI passes one from
``textlens.export``), has it add the inference graph (``model.onnx``) before the run is measured.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textlens.errors import ConfigError
from textlens.options import split_option

# ---------------------------------------------------------------------------------------------- hardware


def resolve_accelerator(device: str) -> str:
    """``auto`` → cuda when a GPU is visible, else cpu; asking for cuda without one is a ConfigError."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but torch sees no CUDA device")
    return device


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 (AVX512-BF16 or AMX); elsewhere bf16 autocast is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, accelerator: str) -> str:
    """Lightning's precision string; ``auto`` is bf16-mixed where the hardware has bf16, else fp32."""
    if precision == "auto":
        if accelerator == "cuda":
            return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
        return "bf16-mixed" if cpu_has_bf16() else "32-true"
    table = {"bf16": "bf16-mixed", "fp16": "16-mixed", "fp32": "32-true"}
    if precision not in table:
        raise ConfigError(f"--precision must be auto, bf16, fp16 or fp32, got {precision!r}")
    return table[precision]


def default_workers(accelerator: str, on_cpu: int = 1, gpu_cap: int | None = 4, gpu_min: int = 0) -> int:
    """Data loader workers when ``--workers`` is not given: ``on_cpu`` on a CPU (the trainer needs the cores);
    on a GPU every core but one (at least ``gpu_min``, at most ``gpu_cap``), since the data is the bottleneck."""
    if accelerator != "cuda":
        return on_cpu
    spare = max((os.cpu_count() or 1) - 1, gpu_min)
    return spare if gpu_cap is None else min(gpu_cap, spare)


def loader_options(
    workers: int, prefetch: int = 4, pin_memory: bool = False, worker_init_fn: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """DataLoader keyword arguments for ``workers`` persistent workers (none: load in the training process)."""
    if workers <= 0:
        return {"num_workers": 0}
    options: dict[str, Any] = {
        "num_workers": workers,
        "persistent_workers": True,
        "prefetch_factor": prefetch,
        "pin_memory": pin_memory,
    }
    if worker_init_fn is not None:
        options["worker_init_fn"] = worker_init_fn
    return options


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (and the loader workers) before the model is built: one seed, one run.

    The training streams do not depend on it: they draw from generators seeded with (seed, block)
    (``textlens.train.stream``).
    """
    import pytorch_lightning as pl

    pl.seed_everything(seed, workers=True, verbose=False)


# ---------------------------------------------------------------------------------------------- optimisation


def adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over ``model``'s trainable parameters; norm weights, biases and other 1-D tensors are not decayed."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
    )


def lr_factor(step: int, total: int, warmup: float, schedule: str, horizon: int | None = None) -> float:
    """Multiplier of the peak learning rate: linear warm-up, then cosine decay to 1% (or constant).

    ``horizon`` (at most ``total``) makes the schedule end there instead: a wall-clock budget fitting it to
    the steps it can reach. The warm-up is a fraction of the steps the schedule runs (the horizon when there
    is one): runs cut by the clock give ``--steps`` as a large bound, and a fraction of that bound once took
    most of a run (a DRAM run with ``--steps 200000`` reached 5,628 steps, 4,000 of them warming up).
    """
    end = min(total, horizon) if horizon else total
    warm = max(1, int(end * warmup))
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warm) / max(1, end - warm))
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))


def step_lr_scheduler(module: Any, optimizer: torch.optim.Optimizer, schedule: str) -> dict[str, Any]:
    """Lightning's optimiser entry with ``lr_factor`` over ``module.hparams`` (max_steps, warmup), per step.

    A closure rather than a stateful object, so a resumed run with more steps stretches the schedule; it reads
    ``module.schedule_horizon`` (set by ``WallClockBudget(fit_schedule=True)``) at every step.
    """
    total, warmup = module.hparams.max_steps, module.hparams.warmup

    def factor(step: int) -> float:
        return lr_factor(step, total, warmup, schedule, getattr(module, "schedule_horizon", None))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


# ---------------------------------------------------------------------------------------------- source specs


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--data`` / ``--val`` value: ``KIND:[PATH,]key=value,...`` plus its mixing ``weight``."""

    kind: str
    path: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    weight: float = 1.0

    def __str__(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.kind}:{','.join(x for x in (self.path, opts) if x)}"

    def int_option(self, key: str, default: int | None) -> int | None:
        """Option ``key`` as a whole number (``default`` when absent); a ConfigError naming the source if not one."""
        raw = self.options.get(key)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"data source {self}: {key} must be a whole number, got {raw!r}") from exc


def parse_source_spec(text: str, kinds: Sequence[str], path_kinds: Sequence[str] = ()) -> SourceSpec:
    """Parse ``KIND:[PATH,]key=value,...`` (KIND one of ``kinds``; those in ``path_kinds`` need the PATH);
    raises ConfigError naming the bad part. The first bare item is the path; ``weight=W`` (> 0) mixes."""
    kind, _, rest = text.partition(":")
    if kind not in kinds:
        raise ConfigError(f"data source {text!r}: kind must be one of {', '.join(kinds)} (as KIND:ARGS)")
    path: str | None = None
    options: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        if "=" in item:
            key, value = split_option(item, f"data source {text!r}")
            options[key] = value
        elif path is None:
            path = item
        else:
            raise ConfigError(f"data source {text!r}: unexpected item {item!r} (options are key=value)")
    if kind in path_kinds and not path:
        raise ConfigError(f"data source {text!r}: {kind} needs a path ({kind}:PATH)")
    try:
        weight = float(options.pop("weight", 1.0))
    except ValueError as exc:
        raise ConfigError(f"data source {text!r}: weight must be a number") from exc
    if weight <= 0:
        raise ConfigError(f"data source {text!r}: weight must be > 0")
    return SourceSpec(kind, path, options, weight)


# ---------------------------------------------------------------------------------------------- export, summary

# Writes a trained model's inference graph to the path given (``OUT/export/model.onnx``): the CLI hands the
# trainer one from ``textlens.export`` (e.g. ``textlens.export.detection.export_detector``).
GraphExporter = Callable[[torch.nn.Module, Path], Any]


def write_export(
    model: torch.nn.Module, config: dict[str, Any], folder: Path, graph: GraphExporter | None = None
) -> Path:
    """Write ``folder``: fp16 ``model.safetensors``, the graph (``model.onnx``) when ``graph`` is given, then
    ``config.json`` (last, so a folder with a config is complete); returns the folder."""
    from textlens.models.bundle import write_config
    from textlens.models.serialization import save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if graph is not None:  # the graph is traced from the fp32 model in eval mode, in the plain memory layout
        model = model.cpu().float().eval().to(memory_format=torch.contiguous_format)
    save_weights(model, folder / "model.safetensors", half=True)
    if graph is not None:
        graph(model, folder / "model.onnx")
    write_config(folder, jsonable(config))
    return folder


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values (tuples → lists, paths → strings, numpy scalars → numbers)."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Path):
            return str(obj)
        if isinstance(obj, np.generic):
            return obj.item()
        return list(obj)

    return json.loads(json.dumps(value, default=default))


def throughput_summary(samples: int, seconds: float) -> dict[str, Any]:
    """The summary's ``samples``, ``train_seconds`` and ``samples_per_s`` (validation time excluded)."""
    return {
        "samples": int(samples),
        "train_seconds": round(seconds, 2),
        "samples_per_s": round(samples / seconds, 2) if seconds > 0 else 0.0,
    }


def wall_seconds(started: float) -> float:
    """Seconds since ``started`` (a ``time.perf_counter()`` reading), as the summary records them."""
    return round(time.perf_counter() - started, 2)


def weights_source(path: Path | None) -> str:
    """The summary's ``weights_from``: the checkpoint the exported weights came from, or ``final``."""
    return path.name if path is not None else "final"


def rounded(score: Any, digits: int) -> float | None:
    """A monitored score (a tensor or None) as the summary records it."""
    return None if score is None else round(float(score), digits)


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    """``OUT/summary.json``, written atomically."""
    from textlens.io.atomic import atomic_write_text

    Path(out).mkdir(parents=True, exist_ok=True)
    return atomic_write_text(Path(out) / "summary.json", json.dumps(summary, indent=2) + "\n")
