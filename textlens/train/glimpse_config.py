"""What ``train glimpse`` takes (``GlimpseTrainConfig``) and the RAM / DRAM builder arguments it resolves:
the paper's settings per task, then an ``--init`` model's own, then the explicit options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.data.digits import TaskSpec
from textlens.errors import ConfigError, ModelError
from textlens.models.registry import load_config
from textlens.models.serialization import read_checkpoint

ARCHS = ("ram", "dram")

# Per task, the paper's RAM setting: glimpse size, scales, glimpses (Mnih et al. 2014, Table 1).
RAM_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "mnist": {"glimpse_size": 8, "scales": 1, "glimpses": 6},
    "translated": {"glimpse_size": 12, "scales": 3, "glimpses": 8},
    "cluttered60": {"glimpse_size": 12, "scales": 3, "glimpses": 8},
    "cluttered100": {"glimpse_size": 12, "scales": 4, "glimpses": 8},
}


@dataclass
class GlimpseTrainConfig:
    """Everything ``train glimpse`` takes; the CLI fills it from its options."""

    out: Path
    arch: str = "ram"
    task: str = "mnist"
    data: str | None = None
    glimpses: int | None = None
    steps: int = 20_000
    epochs: float | None = None
    batch: int = 128
    lr: float = 1e-3
    std: float | None = None
    cell: str | None = None
    device: str = "auto"
    resume: bool = False
    max_minutes: float | None = None
    fit_schedule: bool = False  # with max_minutes: the LR decay ends when the budget does
    val_every: int = 1000
    val_size: int = 5000
    holdout: int = 5000
    mc_samples: int = 10
    workers: int | None = None
    seed: int = 0
    grad_clip: float = 5.0
    warmup: float = 0.02
    precision: str = "fp32"  # or bf16: autocast for the glimpse, core and classifier; the policy stays fp32
    name: str | None = None
    progress: bool = True
    jitter: int = 0
    init: str | None = None
    # Decay of an exponential moving average of the weights (None: off). The policy's sampled paths make every
    # step noisy; the average is what validation, the checkpoints and the export see.
    ema: float | None = None
    model: dict[str, Any] = field(default_factory=dict)


# Keys the task decides, never taken from an --init model: the canvas and the longest string.
TASK_BOUND_KEYS = ("image_size", "max_length")


def init_model_kwargs(init: str | Path, arch: str) -> dict[str, Any]:
    """The builder arguments an ``--init`` model was made with (export folder, its ``config.json`` beside a
    ``.safetensors``, or a Lightning checkpoint), less the task-bound ones; ``{}`` when none are recorded."""
    path = Path(init)
    config = path / "config.json" if path.is_dir() else path.with_name("config.json")
    found_arch: str | None = None
    kwargs: dict[str, Any] = {}
    if path.suffix == ".ckpt":
        blob = read_checkpoint(path)
        hparams = dict(blob.get("hyper_parameters", {})) if isinstance(blob, dict) else {}
        found_arch = hparams.get("arch")
        kwargs = dict(hparams.get("model_kwargs", {}))
    elif config.is_file():
        data = load_config(config.parent)
        found_arch = data.get("arch")
        kwargs = dict(data.get("model", {}))
    if found_arch is not None and found_arch != arch:
        raise ModelError(f"--init {init} is a {found_arch} model, not {arch}")
    return {key: value for key, value in kwargs.items() if key not in TASK_BOUND_KEYS}


def model_kwargs(cfg: GlimpseTrainConfig, spec: TaskSpec) -> dict[str, Any]:
    """The builder's arguments for an architecture on a task: the paper's defaults, then the ``--init``
    model's own (so a continuation keeps its shape and σ), then the explicit options."""
    if cfg.arch not in ARCHS:
        raise ConfigError(f"--arch must be one of {', '.join(ARCHS)}, got {cfg.arch!r}")
    kwargs: dict[str, Any] = {"image_size": [spec.height, spec.width], "in_channels": 1}
    if cfg.arch == "ram":
        if spec.sequence:
            raise ConfigError(f"RAM classifies one digit; task {spec.name!r} has strings: use --arch dram")
        kwargs.update(RAM_TASK_DEFAULTS[spec.name])
    else:
        kwargs["max_length"] = spec.max_length
    if cfg.init:
        kwargs.update(init_model_kwargs(cfg.init, cfg.arch))
    if cfg.glimpses:
        kwargs["glimpses" if cfg.arch == "ram" else "glimpses_per_symbol"] = cfg.glimpses
    if cfg.cell and cfg.arch == "ram":
        kwargs["cell"] = cfg.cell
    if cfg.std is not None:
        kwargs["std"] = cfg.std
    kwargs.update(cfg.model)
    return kwargs
