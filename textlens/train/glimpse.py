"""Training RAM and DRAM with Lightning: the hybrid loss (classification NLL + REINFORCE + baseline MSE), the
on-the-fly digit data, checkpoints and the export to ``runs/NAME/export/{config.json, model.safetensors}``.

RAM's reward is 1 when the digit is classified right after the last glimpse (the same return for every
location decision, Mnih et al. 2014). DRAM's reward is 1 for every symbol emitted right (digits and the end
token); a location decision made during the glimpses of symbol ``k`` is credited with the rewards of symbols
``k`` onward (its return-to-go), so the 0/1 reward of Ba et al. 2015 stays per object.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from textlens.data.digits import TASKS, DigitTask, MnistSplits, SvhnTask, TaskSpec, build_task, task_spec
from textlens.data.manifest import atomic_write_text
from textlens.errors import ConfigError, ModelError
from textlens.eval.classification import score_labels, sequence_error_by_length
from textlens.eval.text import edit_distance
from textlens.models.glimpse.policy import reinforce_losses
from textlens.models.glimpse.predict import predict_texts
from textlens.models.registry import create_model, load_config
from textlens.models.serialization import load_state, read_checkpoint, read_state, save_weights
from textlens.train.callbacks import load_best_weights, step_trainer
from textlens.train.rec import resolve_accelerator, resolve_precision
from textlens.train.resume import ResumePoint, resume_point
from textlens.train.stream import StepAwareLoader
from textlens.train.system import step_lr_scheduler

ARCHS = ("ram", "dram")
IGNORE = -100

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


def grow_sensor_input(state: dict[str, Tensor], model: Any) -> dict[str, Tensor]:
    """Fit an init's weights to a model whose sensor reads more scales (``--model-option scales=3`` on a
    2-scale init): the added, coarser scales enter the patch-reading layer with zero weights, so the grown
    model starts out computing exactly what the init did and training teaches it to use the wider view."""
    key, scales = model.sensor_input, model.sensor.scales
    old, new = state.get(key), model.state_dict()[key]
    if old is None or old.shape == new.shape or new.shape[1] % scales:
        return state
    per_scale = new.shape[1] // scales  # inputs one scale contributes (channels, or channels × pixels)
    fits = old.shape[0] == new.shape[0] and old.shape[2:] == new.shape[2:]
    if not fits or old.shape[1] % per_scale or old.shape[1] > new.shape[1]:
        return state  # another change (glimpse size, channels): load_state reports the mismatch
    grown = torch.zeros_like(new)
    grown[:, : old.shape[1]] = old  # the patches are scale-major, finest first: the new scales come last
    return {**state, key: grown}


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


def encode_targets(texts: list[str], arch: str, max_length: int) -> Tensor:
    """RAM: the class index per sample; DRAM: B×(max_length+1) digits, the end token (10), then IGNORE."""
    if arch == "ram":
        return torch.tensor([int(t) for t in texts], dtype=torch.long)
    out = torch.full((len(texts), max_length + 1), IGNORE, dtype=torch.long)
    for row, text in enumerate(texts):
        digits = [int(c) for c in text[:max_length]]
        out[row, : len(digits)] = torch.tensor(digits, dtype=torch.long)
        out[row, len(digits)] = 10
    return out


class GlimpseBatches(Dataset):
    """Batch ``b`` of a task: samples ``start + b·B`` to ``start + (b+1)·B - 1`` as tensors (item = batch)."""

    def __init__(
        self,
        task: DigitTask | SvhnTask,
        batch_size: int,
        batches: int,
        arch: str,
        start: int = 0,
        total: int | None = None,
    ) -> None:
        self.task, self.batch_size, self.batches, self.arch, self.start = (
            task,
            batch_size,
            batches,
            arch,
            start,
        )
        self.total = total  # a fixed set's size: the last batch is cut there

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> dict[str, Any]:
        first = self.start + index * self.batch_size
        last = first + self.batch_size if self.total is None else min(first + self.batch_size, self.total)
        images, texts = self.task.batch(range(first, last))
        tensor = torch.from_numpy(images).unsqueeze(1).float().div_(255.0)
        return {
            "images": tensor,
            "texts": texts,
            "targets": encode_targets(texts, self.arch, self.task.spec.max_length),
        }


class GlimpseSystem(pl.LightningModule):
    """A RAM or DRAM model, its hybrid loss, Adam with warm-up + cosine decay, and the validation error."""

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        task: str,
        lr: float = 1e-3,
        max_steps: int = 20_000,
        warmup: float = 0.02,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.arch = arch
        self._val = torch.zeros(2, dtype=torch.float64)  # right, count

    # ---------------------------------------------------------------- loss
    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        out = self.model(batch["images"], stochastic=True)
        targets = batch["targets"]
        logits = out["logits"].float()
        if self.arch == "ram":
            nll = F.cross_entropy(logits, targets)
            reward = (logits.argmax(-1) == targets).float()
            returns = reward[:, None].expand_as(out["baselines"])
        else:
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
            valid = targets != IGNORE
            correct = ((logits.argmax(-1) == targets) & valid).float()
            # Return-to-go per symbol, then repeated for each glimpse of that symbol.
            to_go = correct.flip(1).cumsum(1).flip(1)
            returns = to_go.repeat_interleave(self.model.glimpses_per_symbol, dim=1)
            reward = (correct.sum(1) == valid.sum(1)).float()  # whole string right, for the log
        reinforce, baseline = reinforce_losses(out["log_probs"], out["baselines"], returns)
        return {
            "loss": nll + reinforce + baseline,
            "nll": nll,
            "reinforce": reinforce,
            "baseline_mse": baseline,
            "reward": reward.mean(),
        }

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        terms = self.losses(batch)
        size = len(batch["texts"])
        self.log("train/loss", terms["loss"], prog_bar=True, batch_size=size)
        self.log("train/acc", terms["reward"], prog_bar=True, batch_size=size)
        for key in ("nll", "reinforce", "baseline_mse"):
            self.log(f"train/{key}", terms[key], batch_size=size)
        return terms["loss"]

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict_texts(self, images: Tensor, samples: int = 1) -> list[str]:
        return predict_texts(self.model, images, samples)

    def on_validation_epoch_start(self) -> None:
        self._val = torch.zeros(2, dtype=torch.float64)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        for truth, pred in zip(batch["texts"], self.predict_texts(batch["images"]), strict=True):
            self._val += torch.tensor([truth == pred, 1], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        right, count = (float(v) for v in self._val)
        if count:
            self.log("val/error", 1.0 - right / count, prog_bar=True)
            self.log("val/count", count)

    # ---------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr)
        return step_lr_scheduler(self, optimizer, "cosine")


@torch.no_grad()
def evaluate_task(
    model: Any,
    task: DigitTask | SvhnTask,
    count: int,
    batch_size: int = 256,
    samples: int = 1,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy and error of ``model`` on the first ``count`` samples of a (validation) task.

    Sampled paths (``samples`` > 1) draw from a torch generator seeded with ``seed``, so a score repeats.
    """
    model = model.to(device)
    count = min(count, len(task))
    pairs: list[tuple[str, str]] = []
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device == "cuda" else []):
        torch.manual_seed(seed)
        for first in range(0, count, batch_size):
            images, texts = task.batch(range(first, min(first + batch_size, count)))
            tensor = torch.from_numpy(images).unsqueeze(1).float().div_(255.0).to(device)
            pairs.extend(zip(texts, predict_texts(model, tensor, samples), strict=True))
    scores = score_labels(pairs)
    result: dict[str, Any] = {
        "count": scores.count,
        "accuracy": round(scores.accuracy, 5),
        "error": round(scores.error, 5),
        "samples": samples,
    }
    if task.spec.sequence:  # digit strings: also the character error rate (edits / truth digits)
        truth_chars = sum(len(truth) for truth, _ in pairs)
        result["cer"] = round(sum(edit_distance(truth, guess) for truth, guess in pairs) / max(truth_chars, 1), 5)
        result["wrong_length"] = round(sum(len(truth) != len(guess) for truth, guess in pairs) / max(len(pairs), 1), 5)
        result["error_by_length"] = sequence_error_by_length(pairs)
    return result


def _seed_everything(seed: int) -> None:
    pl.seed_everything(seed, workers=True, verbose=False)


def glimpse_precision(precision: str, accelerator: str) -> str:
    """Lightning's precision string for a glimpse run: fp32 unless bf16 (or fp16 on a GPU) is asked for.
    No ``auto``: bf16's effect on REINFORCE training is measured per run, not assumed."""
    if precision == "auto":
        raise ConfigError("--precision for glimpse models must be fp32, bf16 or fp16 (no auto)")
    return resolve_precision(precision, accelerator)


def build_trainer(cfg: GlimpseTrainConfig, accelerator: str, steps: int) -> tuple[Any, Any, Any]:
    """Lightning Trainer with best/last checkpoints (val/error), throughput, CSV logs and a progress bar."""
    from pytorch_lightning.callbacks import LearningRateMonitor

    from textlens.train.callbacks import Throughput, checkpoint_callback, wall_clock_budget

    checkpoint = checkpoint_callback(cfg.out, "val/error", "min")
    throughput = Throughput()
    callbacks: list[Any] = [checkpoint, throughput, LearningRateMonitor(logging_interval="step")]
    if cfg.ema is not None:
        if not 0.0 < cfg.ema < 1.0:
            raise ConfigError(f"--ema is the averaging decay, between 0 and 1 (e.g. 0.999), got {cfg.ema}")
        from pytorch_lightning.callbacks import EMAWeightAveraging

        # Lightning swaps the average in for validation and stores it as the checkpoint's state_dict (the live
        # weights go to current_model_state, which --resume restores).
        callbacks.append(EMAWeightAveraging(decay=cfg.ema))
    budget = wall_clock_budget(cfg.max_minutes, cfg.fit_schedule)
    if budget is not None:
        callbacks.append(budget)
    trainer = step_trainer(
        cfg.out,
        accelerator,
        glimpse_precision(cfg.precision, accelerator),
        steps,
        min(cfg.val_every, steps),
        cfg.grad_clip,
        callbacks,
        cfg.progress,
        refresh_rate=100,
    )
    return trainer, checkpoint, throughput


def _loaders(
    cfg: GlimpseTrainConfig,
    train: DigitTask | SvhnTask,
    val: DigitTask | SvhnTask,
    steps: int,
    start: int,
    accelerator: str,
) -> tuple[DataLoader, DataLoader]:
    workers = (
        cfg.workers if cfg.workers is not None else (min(4, (os.cpu_count() or 1) - 1) if accelerator == "cuda" else 0)
    )
    val_count = min(cfg.val_size, len(val))
    val_batch = 256
    common: dict[str, Any] = {
        "batch_size": None,
        "num_workers": workers,
        "persistent_workers": workers > 0,
        "pin_memory": accelerator == "cuda",
    }
    # The batches start at sample ``start`` (those a resumed run drew already are behind it).
    train_batches = GlimpseBatches(train, cfg.batch, steps, cfg.arch, start=start)
    train_loader = StepAwareLoader(train_batches, shuffle=False, **common)
    val_loader = DataLoader(
        GlimpseBatches(val, val_batch, math.ceil(val_count / val_batch), cfg.arch, total=val_count),
        shuffle=False,
        **common,
    )
    return train_loader, val_loader


def _tasks(cfg: GlimpseTrainConfig) -> tuple[DigitTask | SvhnTask, DigitTask | SvhnTask]:
    spec = task_spec(cfg.task)
    data = cfg.data
    if spec.name == "svhn":
        return build_task("svhn", "train", data, cfg.seed), build_task("svhn", "val", data, cfg.seed)
    from textlens.data.digits import default_mnist, load_mnist_splits

    splits: MnistSplits = load_mnist_splits(Path(data) if data else default_mnist(), cfg.holdout)
    return (
        build_task(cfg.task, "train", seed=cfg.seed, splits=splits, jitter=cfg.jitter),
        build_task(cfg.task, "val", seed=cfg.seed, splits=splits),
    )


def total_steps(cfg: GlimpseTrainConfig, train_len: int) -> int:
    if cfg.epochs is not None:
        return max(1, math.ceil(cfg.epochs * train_len / cfg.batch))
    return cfg.steps


def resume_system(cfg: GlimpseTrainConfig, point: ResumePoint, steps: int) -> GlimpseSystem:
    """The system of the checkpoint ``--resume`` continues, to train up to ``steps``."""
    task = point.hparams.get("task")
    if task != cfg.task:
        raise ConfigError(f"--task {cfg.task} conflicts with the checkpoint, which trains on {task}", point.path)
    if "current_model_state" in point.blob and cfg.ema is None:  # else Lightning would resume from the average
        raise ConfigError(f"{point.path} was trained with --ema: pass --ema again to resume it")
    return GlimpseSystem(**{**point.hparams, "max_steps": steps})


def resumed_samples(point: ResumePoint, batch: int) -> int:
    """Where the training samples continue: the count the checkpoint's run drew (sample ``i`` of a task is a
    function of ``i``, so this continues the stream exactly, even with another ``--batch``)."""
    counted = point.callback_state("Throughput").get("samples")
    return int(counted) if counted is not None else point.step * batch


def train_glimpse_model(cfg: GlimpseTrainConfig, log: Any = print) -> dict[str, Any]:
    """Train as ``cfg`` says, pick the best checkpoint, measure it on the validation split and export."""
    started = time.perf_counter()
    cfg.out = Path(cfg.out)
    if cfg.task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {cfg.task!r}")
    spec = task_spec(cfg.task)
    accelerator = resolve_accelerator(cfg.device)
    kwargs = None if cfg.resume else model_kwargs(cfg, spec)  # a bad arch/task pair fails before data loads
    _seed_everything(cfg.seed)
    train, val = _tasks(cfg)
    steps = total_steps(cfg, len(train))
    point: ResumePoint | None = None
    start = 0
    if cfg.resume:
        point = resume_point(cfg.out, steps, cfg.arch)
        system = resume_system(cfg, point, steps)
        start = resumed_samples(point, cfg.batch)
    else:
        system = GlimpseSystem(cfg.arch, kwargs or {}, cfg.task, lr=cfg.lr, max_steps=steps, warmup=cfg.warmup)
        if cfg.init:  # start from trained weights (a checkpoint, safetensors or an export folder)
            init = Path(cfg.init)
            weights = init / "model.safetensors" if init.is_dir() else init
            load_state(system.model, grow_sensor_input(read_state(weights), system.model), weights)
    train_loader, val_loader = _loaders(cfg, train, val, steps, start, accelerator)
    trainer, checkpoint, throughput = build_trainer(cfg, accelerator, steps)
    # The checkpoint restores the step, the optimiser and the throughput counts (tensors and plain values only).
    ckpt_path = None if point is None else point.path
    trainer.fit(
        system, train_dataloaders=train_loader, val_dataloaders=val_loader, ckpt_path=ckpt_path, weights_only=True
    )
    if trainer.global_step < steps:  # stopped by --max-minutes: keep the exact state for --resume
        trainer.save_checkpoint(cfg.out / "last.ckpt")
    source = load_best_weights(system.model, cfg.out)
    system.model.eval()
    final = {"greedy": evaluate_task(system.model, val, cfg.val_size, device=accelerator)}
    if cfg.mc_samples > 1:
        final[f"mc{cfg.mc_samples}"] = evaluate_task(
            system.model, val, cfg.val_size, samples=cfg.mc_samples, device=accelerator
        )
    summary = {
        "arch": cfg.arch,
        "task": cfg.task,
        "steps": int(trainer.global_step),
        "batch": cfg.batch,
        "lr": cfg.lr,
        "samples": throughput.samples,
        "train_seconds": round(throughput.train_seconds, 2),
        "samples_per_s": round(throughput.samples_per_second, 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "device": accelerator,
        "torch_threads": torch.get_num_threads(),
        "weights_from": source.name if source is not None else "final",
        "best_val_error": None if checkpoint.best_model_score is None else round(float(checkpoint.best_model_score), 5),
        "final_val": final,
        "config": _jsonable({k: v for k, v in asdict(cfg).items() if k != "out"}),
    }
    export_glimpse(system.model.cpu(), cfg.out / "export", cfg.name or cfg.out.name, cfg.arch, spec, summary)
    atomic_write_text(cfg.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    log(f"exported to {cfg.out / 'export'}")
    return summary


def export_glimpse(
    model: Any, out_dir: Path, name: str, arch: str, spec: TaskSpec, training: dict[str, Any] | None = None
) -> Path:
    """``config.json`` ({name, family, arch, model, task, input}) + fp16 ``model.safetensors``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights(model, out_dir / "model.safetensors", half=True)
    config = {
        "name": name,
        "family": "glimpse",
        "arch": arch,
        "model": _jsonable(model.config),
        "task": {
            "name": spec.name,
            "height": spec.height,
            "width": spec.width,
            "max_length": spec.max_length,
            "sequence": spec.sequence,
        },
        "input": {"channels": 1, "polarity": "light-on-dark", "scale": "0..1"},
        "training": training or {},
    }
    atomic_write_text(out_dir / "config.json", json.dumps(config, indent=2) + "\n")
    return out_dir


def _jsonable(value: Any) -> Any:
    def default(obj: Any) -> Any:
        if isinstance(obj, Path):
            return str(obj)
        if isinstance(obj, np.generic):
            return obj.item()
        return list(obj)

    return json.loads(json.dumps(value, default=default))
