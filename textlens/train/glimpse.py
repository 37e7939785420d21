"""``textlens train glimpse``: train RAM or DRAM with Lightning, pick the best checkpoint, measure it on the
validation split and export it to ``runs/NAME/export/{config.json, model.safetensors}``.

The parts, split as ``train rec``'s: the options and builder arguments (``glimpse_config``), the digit data
(``glimpse_data``), the system and its hybrid loss (``glimpse_system``), the scoring (``glimpse_eval``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from textlens.data.digits import TASKS, TaskSpec, task_spec
from textlens.errors import ConfigError
from textlens.train.callbacks import load_best_weights, step_trainer
from textlens.train.common import (
    jsonable,
    resolve_accelerator,
    resolve_precision,
    rounded,
    seed_everything,
    throughput_summary,
    wall_seconds,
    weights_source,
    write_export,
    write_summary,
)
from textlens.train.glimpse_config import GlimpseTrainConfig, model_kwargs
from textlens.train.glimpse_data import build_loaders, build_tasks
from textlens.train.glimpse_eval import evaluate_task
from textlens.train.glimpse_system import GlimpseSystem, load_init
from textlens.train.resume import ResumePoint, resume_point


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
    """Train as ``cfg`` says, pick the best checkpoint, measure it on the validation split and export (weights
    and config: glimpse models have no ONNX graph)."""
    started = time.perf_counter()
    cfg.out = Path(cfg.out)
    if cfg.task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {cfg.task!r}")
    spec = task_spec(cfg.task)
    accelerator = resolve_accelerator(cfg.device)
    kwargs = None if cfg.resume else model_kwargs(cfg, spec)  # a bad arch/task pair fails before data loads
    seed_everything(cfg.seed)
    train, val = build_tasks(cfg)
    steps = total_steps(cfg, len(train))
    point: ResumePoint | None = None
    start = 0
    if cfg.resume:
        point = resume_point(cfg.out, steps, cfg.arch)
        system = resume_system(cfg, point, steps)
        start = resumed_samples(point, cfg.batch)
    else:
        system = GlimpseSystem(cfg.arch, kwargs or {}, cfg.task, lr=cfg.lr, max_steps=steps, warmup=cfg.warmup)
        if cfg.init:
            load_init(system.model, cfg.init)
    train_loader, val_loader = build_loaders(cfg, train, val, steps, start, accelerator)
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
        **throughput_summary(throughput.samples, throughput.train_seconds),
        "wall_seconds": wall_seconds(started),
        "device": accelerator,
        "torch_threads": torch.get_num_threads(),
        "weights_from": weights_source(source),
        "best_val_error": rounded(checkpoint.best_model_score, 5),
        "final_val": final,
        "config": jsonable({k: v for k, v in asdict(cfg).items() if k != "out"}),
    }
    export_glimpse(system.model.cpu(), cfg.out / "export", cfg.name or cfg.out.name, cfg.arch, spec, summary)
    write_summary(cfg.out, summary)
    log(f"exported to {cfg.out / 'export'}")
    return summary


def glimpse_config(
    model: Any, name: str, arch: str, spec: TaskSpec, training: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The export folder's ``config.json``: {name, family, arch, model, task, input, training}."""
    return {
        "name": name,
        "family": "glimpse",
        "arch": arch,
        "model": jsonable(model.config),
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


def export_glimpse(
    model: Any,
    out_dir: Path,
    name: str,
    arch: str,
    spec: TaskSpec,
    training: dict[str, Any] | None = None,
) -> Path:
    """``config.json`` (:func:`glimpse_config`) + fp16 ``model.safetensors``."""
    return write_export(model, glimpse_config(model, name, arch, spec, training), out_dir)
