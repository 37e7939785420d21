"""``textlens train det``: train a text detector (DBNet or EAST) with Lightning, then export it.

Output folder (``--out runs/NAME``): ``last.ckpt`` and ``best.ckpt`` (highest validation F1 at IoU 0.5),
``logs/``, ``summary.json`` and ``export/`` (``config.json`` and fp16 ``model.safetensors`` in the layout of
``textlens/models/weights/<name>/`` that ``textlens.runtime.detector.OnnxDetector`` reads; ``model.onnx`` when
the caller hands over a graph exporter, as the CLI does). A ``--max-minutes`` budget stops training
gracefully (checkpoint, export) when the wall clock runs out.

The system (model, loss, validation) is ``textlens.train.det_system``; the pages ``textlens.train.det_sources``;
the crops, targets and batches ``textlens.train.det_data``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from torch import Tensor

from textlens.errors import ConfigError
from textlens.eval.layout import PredWord
from textlens.eval.pages import match_page, prf
from textlens.models.registry import get_spec
from textlens.runtime.detector import DEFAULT_INPUT
from textlens.train.callbacks import (
    Throughput,
    checkpoint_callback,
    load_best_weights,
    step_trainer,
    wall_clock_budget,
)
from textlens.train.common import (
    GraphExporter,
    default_workers,
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
from textlens.train.det_data import CropPolicy, DetectionDataModule
from textlens.train.det_sources import IndexedPages, build_page_source, parse_page_source
from textlens.train.det_system import DetectionSystem
from textlens.train.resume import ResumePoint, resume_point, stream_warning

RUNTIME = "textlens.runtime.detector:OnnxDetector"
DEFAULT_ARCH = "db_small"


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
    devices: int = 1  # processes (one per device); each draws its own share of the stream
    num_nodes: int = 1  # machines, each running ``devices`` processes
    strategy: str = "auto"
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
    # Page rendering is the bottleneck on a GPU: every core but one renders.
    workers = default_workers(accelerator, gpu_cap=None, gpu_min=1) if cfg.workers is None else cfg.workers
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
        devices=cfg.devices,
        strategy=cfg.strategy,
        refresh_rate=20,
        num_nodes=cfg.num_nodes,
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
        "model": jsonable(dict(system.hparams.model_kwargs)),
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


def train_detector(cfg: DetTrainConfig, log: Any = print, export_graph: GraphExporter | None = None) -> dict[str, Any]:
    """Train as ``cfg`` says and export; returns the summary (also written to summary.json).

    ``export_graph`` writes ``export/model.onnx`` (the CLI passes ``textlens.export.detection.export_detector``);
    the summary's ``final_val`` then scores that graph through the runtime on the validation pages. Without
    one, the export folder holds the weights and config only and ``final_val`` is empty.
    """
    started = time.perf_counter()
    seed_everything(cfg.seed)
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
    if warning := stream_warning(point, datamodule, cfg.devices * cfg.num_nodes):
        log(warning)
    trainer, checkpoint, throughput, budget = build_trainer(cfg, accelerator, bool(datamodule.val_sources))
    # The checkpoint restores the step (and so the data stream's start) and the throughput counts.
    trainer.fit(system, datamodule=datamodule, ckpt_path=None if point is None else point.path, weights_only=True)
    if budget is not None and budget.hit:
        # The budget stopped training between checkpoints: save where it stopped, so --resume continues.
        trainer.save_checkpoint(cfg.out / "last.ckpt")
    if not trainer.is_global_zero:  # rank 0 alone exports and writes the summary
        return {}
    source = load_best_weights(system.model, cfg.out)
    summary: dict[str, Any] = {
        "arch": system.hparams.arch,
        "steps": int(trainer.global_step),
        "batch": cfg.batch,
        "size": cfg.size,
        "lr": cfg.lr,
        **throughput_summary(throughput.samples, throughput.train_seconds),
        "device": accelerator,
        "devices": cfg.devices,
        "num_nodes": cfg.num_nodes,
        "precision": resolve_precision(cfg.precision, accelerator),
        "ema": cfg.ema,
        "data": list(cfg.data),
        "val": list(cfg.val),
        "finetune": cfg.finetune,
        "weights_from": weights_source(source),
        "stopped_by_budget": bool(budget and budget.hit),
        "best_val_f1": rounded(checkpoint.best_model_score, 4),
    }
    export_dir = cfg.out / "export"
    write_export(system.model, export_config(system, cfg.name or cfg.out.name, summary), export_dir, export_graph)
    measured = export_graph is not None and datamodule.val_sources
    summary["final_val"] = evaluate_export(export_dir, datamodule.val_sources) if measured else {}
    summary["wall_seconds"] = wall_seconds(started)
    write_summary(cfg.out, summary)
    return summary
