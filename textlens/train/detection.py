"""``textlens train det``: train a text detector (DBNet or EAST) with Lightning, then export it.

Output folder (``--out runs/NAME``): ``last.ckpt`` and ``best.ckpt`` (highest validation F1 at IoU 0.5),
``logs/``, ``summary.json`` and ``export/`` (``config.json``, fp16 ``model.safetensors`` and ``model.onnx``:
the layout of ``textlens/models/weights/<name>/`` that ``textlens.runtime.detector.OnnxDetector`` reads).
A ``--max-minutes`` budget stops training gracefully (checkpoint, export) when the wall clock runs out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor

from textlens.data.manifest import atomic_write_text
from textlens.errors import ConfigError
from textlens.eval.layout import PredWord
from textlens.eval.pages import match_page, prf
from textlens.models.registry import create_model, get_spec
from textlens.runtime.detector import DEFAULT_INPUT
from textlens.runtime.postprocess import DEFAULT_DB, DEFAULT_EAST, db_postprocess, east_postprocess
from textlens.train.callbacks import (
    Throughput,
    checkpoint_callback,
    load_best_weights,
    step_trainer,
    wall_clock_budget,
)
from textlens.train.det_data import (
    CropPolicy,
    DetectionDataModule,
    IndexedPages,
    build_page_source,
    parse_page_source,
)
from textlens.train.rec import resolve_accelerator, resolve_precision
from textlens.train.resume import ResumePoint, resume_point, stream_warning
from textlens.train.system import step_lr_scheduler

RUNTIME = "textlens.runtime.detector:OnnxDetector"
DEFAULT_ARCH = "db_small"


def method_of(model: Any) -> str:
    """``east`` for models with RBOX geometry, else ``db``."""
    return "east" if "geo" in getattr(model, "outputs", ()) else "db"


class DetectionSystem(pl.LightningModule):
    """Owns a detector, its loss (the model's ``loss``), optimiser, schedule and validation P/R/F1."""

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        max_steps: int = 10_000,
        warmup: float = 0.03,
        schedule: str = "cosine",
        channels_last: bool = True,
        input_spec: dict[str, Any] | None = None,
        postprocess: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.method = method_of(self.model)
        self.input_spec = {**DEFAULT_INPUT, **(input_spec or {})}
        defaults = DEFAULT_EAST if self.method == "east" else DEFAULT_DB
        self.postprocess = {**defaults, **(postprocess or {})}
        self.register_buffer("mean", torch.tensor(self.input_spec["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.input_spec["std"]).view(1, 3, 1, 1), persistent=False)
        self._val = np.zeros(3)  # ground-truth words, predicted words, matched pairs

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def images(self, batch: dict[str, Any]) -> Tensor:
        """Training crops travel as uint8 and are normalised here, on the device."""
        images = batch["images"]
        if images.dtype == torch.uint8:
            images = (images.float() / 255.0 - self.mean) / self.std
        if self.hparams.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        losses = self.model.loss(self.model(self.images(batch)), batch)
        size = len(batch["images"])
        self.log("train/loss", losses["loss"], prog_bar=True, batch_size=size)
        for key, value in losses.items():
            if key != "loss":
                self.log(f"train/{key}", value, batch_size=size)
        return losses["loss"]

    # ---------------------------------------------------------------- validation
    def decode(self, outputs: dict[str, Tensor], scale: tuple[float, float], size: tuple[int, int]) -> list[Any]:
        prob = outputs["prob"].float().cpu().numpy()[0, 0]
        if self.method == "east":
            geo = outputs["geo"].float().cpu().numpy()[0]
            return east_postprocess(prob, geo, int(self.model.stride), scale, size, **self.postprocess)
        return db_postprocess(prob, scale, size, **self.postprocess)

    def on_validation_epoch_start(self) -> None:
        self._val = np.zeros(3)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        outputs = self.model(self.images(batch))
        detections = self.decode(outputs, batch["scale"], batch["size"])
        preds = [PredWord(text="", box=d.box, polygon=tuple(map(tuple, d.polygon.tolist()))) for d in detections]
        counts = match_page(batch["words"], preds, iou="box").counts
        self._val += (counts.gt, counts.pred, counts.matched)

    def on_validation_epoch_end(self) -> None:
        totals = self.trainer.strategy.reduce(torch.tensor(self._val, device=self.device), reduce_op="sum")
        gt, pred, matched = (int(v) for v in totals.tolist())
        scores = prf(matched, pred, gt)
        self.log("val/precision", scores.precision, sync_dist=False)
        self.log("val/recall", scores.recall, sync_dist=False)
        self.log("val/f1", scores.f1, prog_bar=True, sync_dist=False)

    # ---------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> dict[str, Any]:
        decay, no_decay = [], []
        for param in self.model.parameters():
            if param.requires_grad:
                (no_decay if param.ndim <= 1 else decay).append(param)
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.hparams.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.hparams.lr,
        )
        return step_lr_scheduler(self, optimizer, self.hparams.schedule)


class CropThroughput(Throughput):
    """Throughput counting training crops (the recogniser's meter counts texts)."""

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.samples += len(batch["images"]) * trainer.world_size


@dataclass
class DetTrainConfig:
    """Everything ``train det`` takes; the CLI fills it from its options."""

    out: Path
    data: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    arch: str | None = None
    steps: int = 20_000
    batch: int = 8
    size: int = 640
    long_side: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: float = 0.03
    schedule: str = "cosine"
    resume: bool = False
    finetune: str | None = None
    ema: bool = False
    ema_decay: float = 0.999
    workers: int | None = None
    device: str = "auto"
    val_every: int = 1000
    precision: str = "auto"
    max_minutes: float | None = None
    fit_schedule: bool = False  # with max_minutes: the LR decay ends when the budget does
    seed: int = 0
    grad_clip: float = 5.0
    channels_last: bool = True
    progress: bool = True
    name: str | None = None


def build_system(cfg: DetTrainConfig) -> tuple[DetectionSystem, str | None]:
    """A fresh (or fine-tuned) detection system; returns it and a note on what was loaded."""
    from textlens.train.finetune import read_source

    base_cfg: dict[str, Any] = {}
    state: dict[str, Tensor] | None = None
    if cfg.finetune:
        base_cfg, state = read_source(cfg.finetune)
    arch = cfg.arch or base_cfg.get("arch") or DEFAULT_ARCH
    spec = get_spec(arch)
    if spec.family != "detection":
        raise ConfigError(f"--arch {arch} is a {spec.family} model, not a detector")
    kwargs = dict(base_cfg.get("model", {})) if base_cfg.get("arch") == arch else {}
    input_spec = {**DEFAULT_INPUT, "long_side": cfg.long_side}
    system = DetectionSystem(
        arch,
        kwargs,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        max_steps=cfg.steps,
        warmup=cfg.warmup,
        schedule=cfg.schedule,
        channels_last=cfg.channels_last,
        input_spec=input_spec,
    )
    note = None
    if state is not None:
        own = system.model.state_dict()
        fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        system.model.load_state_dict(fitting, strict=False)
        note = f"fine-tuning from {cfg.finetune}: {len(fitting)}/{len(own)} tensors loaded"
    return system, note


def resume_system(cfg: DetTrainConfig, point: ResumePoint) -> DetectionSystem:
    """The system a checkpoint was trained with, to continue up to ``cfg.steps``."""
    if cfg.finetune:
        raise ConfigError(
            "--finetune starts a new run from other weights and --resume continues this one: give one of them",
            point.path,
        )
    return DetectionSystem(**{**point.hparams, "max_steps": cfg.steps})


def default_workers(accelerator: str) -> int:
    import os

    cpus = os.cpu_count() or 1
    # Page rendering is the bottleneck on a GPU: every core but one renders.
    return max(cpus - 1, 1) if accelerator == "cuda" else 1


def build_datamodule(cfg: DetTrainConfig, system: DetectionSystem, accelerator: str) -> DetectionDataModule:
    if not cfg.data:
        raise ConfigError("no training data: give at least one --data source (e.g. synth-pages:kind=mixed)")
    specs = [parse_page_source(s) for s in cfg.data]
    train = [build_page_source(s, cfg.seed) for s in specs]
    val: list[IndexedPages] = []
    for text in cfg.val:
        source = build_page_source(parse_page_source(text), cfg.seed + 1)
        if not isinstance(source, IndexedPages):
            raise ConfigError(f"--val {text}: validation needs a fixed set (manifest or fake-pages), not a stream")
        val.append(source)
    workers = default_workers(accelerator) if cfg.workers is None else cfg.workers
    policy = CropPolicy(size=cfg.size, long_side=cfg.long_side)
    return DetectionDataModule(
        train,
        [s.weight for s in specs],
        val,
        policy,
        system.input_spec,
        system.method,
        batch_size=cfg.batch,
        workers=workers,
        seed=cfg.seed,
        pin_memory=accelerator == "cuda",
    )


def build_trainer(cfg: DetTrainConfig, accelerator: str, has_val: bool) -> tuple[Any, Any, Any, Any]:
    """The Lightning Trainer with checkpointing, throughput, the wall-clock budget and optional EMA."""
    from pytorch_lightning.callbacks import LearningRateMonitor

    checkpoint = checkpoint_callback(cfg.out, "val/f1" if has_val else None, "max", cfg.val_every)
    throughput = CropThroughput()
    budget = wall_clock_budget(cfg.max_minutes, cfg.fit_schedule)
    callbacks: list[Any] = [checkpoint, throughput, LearningRateMonitor(logging_interval="step")]
    if budget is not None:
        callbacks.append(budget)
    if cfg.ema:
        from pytorch_lightning.callbacks.weight_averaging import EMAWeightAveraging

        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay, update_starting_at_step=min(500, cfg.steps // 10)))
    trainer = step_trainer(
        cfg.out,
        accelerator,
        resolve_precision(cfg.precision, accelerator),
        cfg.steps,
        cfg.val_every if has_val else None,
        cfg.grad_clip,
        callbacks,
        cfg.progress,
        refresh_rate=20,
    )
    return trainer, checkpoint, throughput, budget


def export_config(system: DetectionSystem, name: str, training: dict[str, Any]) -> dict[str, Any]:
    """The config.json the runtime reads (see docs/detection.md)."""
    postprocess: dict[str, Any] = {"method": system.method, **system.postprocess}
    if system.method == "east":
        postprocess["stride"] = int(system.model.stride)
    return {
        "name": name,
        "family": "detection",
        "arch": system.hparams.arch,
        "model": json.loads(json.dumps(dict(system.hparams.model_kwargs))),
        "input": dict(system.input_spec),
        "postprocess": postprocess,
        "runtime": RUNTIME,
        "training": training,
    }


def evaluate_export(folder: Path, val: list[IndexedPages]) -> dict[str, Any]:
    """Detection P/R/F1 (IoU 0.5, box) of the exported ONNX model on the validation pages."""
    from textlens.runtime.detector import OnnxDetector

    detector = OnnxDetector(folder)
    gt = pred = matched = pages = 0
    seconds = 0.0
    for source in val:
        for i in range(len(source)):
            page = source[i]
            started = time.perf_counter()
            detections = detector.detect(page.image)
            seconds += time.perf_counter() - started
            preds = [PredWord(text="", box=d.box) for d in detections]
            counts = match_page(page.words, preds).counts
            gt, pred, matched, pages = gt + counts.gt, pred + counts.pred, matched + counts.matched, pages + 1
    if pages == 0:
        return {}
    scores = prf(matched, pred, gt)
    return {
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "pages": pages,
        "gt": gt,
        "pred": pred,
        "onnx_seconds_per_page": round(seconds / pages, 4),
    }


def train_detector(cfg: DetTrainConfig, log: Any = print) -> dict[str, Any]:
    """Train as ``cfg`` says and export; returns the summary (also written to summary.json)."""
    from textlens.export.detection import export_folder

    started = time.perf_counter()
    cfg.out = Path(cfg.out)
    accelerator = resolve_accelerator(cfg.device)
    point: ResumePoint | None = None
    if cfg.resume:
        point = resume_point(cfg.out, cfg.steps, cfg.arch)
        system = resume_system(cfg, point)
    else:
        system, note = build_system(cfg)
        if note:
            log(note)
    datamodule = build_datamodule(cfg, system, accelerator)
    if warning := stream_warning(point, datamodule, 1):
        log(warning)
    trainer, checkpoint, throughput, budget = build_trainer(cfg, accelerator, bool(datamodule.val_sources))
    # The checkpoint restores the step (and so the data stream's start) and the throughput counts.
    trainer.fit(system, datamodule=datamodule, ckpt_path=None if point is None else point.path, weights_only=True)
    if budget is not None and budget.hit:
        # The budget stopped training between checkpoints: save where it stopped, so --resume continues.
        trainer.save_checkpoint(cfg.out / "last.ckpt")
    source = load_best_weights(system.model, cfg.out)
    best_score = checkpoint.best_model_score
    summary: dict[str, Any] = {
        "arch": system.hparams.arch,
        "steps": int(trainer.global_step),
        "batch": cfg.batch,
        "size": cfg.size,
        "lr": cfg.lr,
        "samples": throughput.samples,
        "train_seconds": round(throughput.train_seconds, 2),
        "samples_per_s": round(throughput.samples_per_second, 2),
        "device": accelerator,
        "precision": resolve_precision(cfg.precision, accelerator),
        "ema": cfg.ema,
        "data": list(cfg.data),
        "val": list(cfg.val),
        "finetune": cfg.finetune,
        "weights_from": source.name if source is not None else "final",
        "stopped_by_budget": bool(budget and budget.hit),
        "best_val_f1": None if best_score is None else round(float(best_score), 4),
    }
    export_dir = cfg.out / "export"
    model = system.model.cpu().float().eval().to(memory_format=torch.contiguous_format)
    export_folder(model, export_config(system, cfg.name or cfg.out.name, summary), export_dir)
    summary["final_val"] = evaluate_export(export_dir, datamodule.val_sources) if datamodule.val_sources else {}
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    atomic_write_text(cfg.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
