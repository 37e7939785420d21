"""``textlens train rec``: build the system, data and Lightning trainer, train, then export the model.

Output folder (``--out runs/NAME``): ``last.ckpt`` and ``best.ckpt`` (lowest validation CER), ``logs/``,
``summary.json`` and ``export/`` holding ``config.json`` + ``model.safetensors`` (fp16) in the layout of
``textlens/models/weights/<name>/`` that the ONNX exporter and runtime read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from textlens.data.charset import Charset, DecoderKind, tokenizer_for
from textlens.errors import ConfigError
from textlens.models.registry import create_model, get_spec
from textlens.models.serialization import read_checkpoint
from textlens.runtime.crops import CropSpec
from textlens.train.callbacks import load_best_weights, step_trainer
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
from textlens.train.data import LabelRules, RecognitionDataModule
from textlens.train.finetune import load_matching, read_source, source_tokenizer
from textlens.train.resume import ResumePoint, resume_point, stream_warning
from textlens.train.sources import IndexedSource, build_source, parse_source
from textlens.train.system import RecognitionSystem

RUNTIME = "textlens.runtime.recognizer:OnnxRecognizer"
DEFAULT_ARCH = "crnn_small"


@dataclass
class RecTrainConfig:
    """Everything ``train rec`` takes; the CLI fills it from its options."""

    out: Path
    data: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    arch: str | None = None
    steps: int = 10_000
    batch: int = 64
    lr: float = 1e-3
    height: int | None = None
    channels: int | None = None
    charset: str | None = None
    resume: bool = False
    finetune: str | None = None
    ema: bool = False
    ema_decay: float = 0.999
    workers: int | None = None
    device: str = "auto"
    val_every: int = 1000
    val_batch: int | None = None
    precision: str = "auto"
    devices: int = 1
    num_nodes: int = 1  # machines, each running ``devices`` processes
    strategy: str = "auto"
    patience: int | None = None
    seed: int = 0
    grad_clip: float = 5.0
    weight_decay: float = 0.01
    warmup: float = 0.05
    schedule: str = "cosine"
    channels_last: bool = True
    progress: bool = True
    name: str | None = None
    max_minutes: float | None = None  # stop (and export) after this much wall-clock training time
    fit_schedule: bool = False  # with max_minutes: the LR decay ends when the budget does


def model_decoder(arch: str) -> DecoderKind:
    """The decoder kind of an architecture (builds it once with its defaults to ask)."""
    return DecoderKind.parse(create_model(arch).decoder)


def num_classes(charset: Charset, decoder: DecoderKind | str) -> int:
    """The output size of a ``decoder`` model over ``charset``: its tokenizer's."""
    return tokenizer_for(charset, decoder).num_classes


def build_system(cfg: RecTrainConfig) -> tuple[RecognitionSystem, str | None]:
    """A fresh (or fine-tuned) system from the config; returns it and a note on what was loaded."""
    base_cfg: dict[str, Any] = {}
    state: dict[str, torch.Tensor] | None = None
    if cfg.finetune:
        base_cfg, state = read_source(cfg.finetune)
    arch = cfg.arch or base_cfg.get("arch") or DEFAULT_ARCH
    get_spec(arch)  # an unknown name fails here, listing the registered ones
    charset = (
        Charset.from_spec(cfg.charset)
        if cfg.charset
        else Charset(base_cfg.get("charset") or Charset.from_spec("latin").chars)
    )
    decoder = model_decoder(arch)
    kwargs = dict(base_cfg.get("model", {})) if base_cfg.get("arch") == arch else {}
    if cfg.height is not None:
        kwargs["height"] = cfg.height
    if cfg.channels is not None:
        kwargs["in_channels"] = cfg.channels
    kwargs["num_classes"] = num_classes(charset, decoder)
    system = RecognitionSystem(
        arch,
        kwargs,
        charset.chars,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        max_steps=cfg.steps,
        warmup=cfg.warmup,
        schedule=cfg.schedule,
        channels_last=cfg.channels_last,
    )
    note = None
    if state is not None:
        report = load_matching(system.model, state, source_tokenizer(base_cfg, decoder), system.tokenizer)
        note = f"fine-tuning from {cfg.finetune}: {report}"
    return system, note


def resume_system(cfg: RecTrainConfig, point: ResumePoint) -> RecognitionSystem:
    """The system a checkpoint was trained with (architecture, charset, input), to continue up to ``cfg.steps``.

    Options that would build another model are refused rather than silently ignored.
    """
    if cfg.finetune:
        raise ConfigError(
            "--finetune starts a new run from other weights and --resume continues this one: give one of them",
            point.path,
        )
    system = RecognitionSystem(**{**point.hparams, "max_steps": cfg.steps})
    inputs = system.model.input_config()
    given = {
        "--charset": (Charset.from_spec(cfg.charset).chars if cfg.charset else None, system.charset.chars),
        "--height": (cfg.height, inputs.get("height")),
        "--channels": (cfg.channels, inputs.get("channels")),
    }
    for option, (asked, saved) in given.items():
        if asked is not None and asked != saved:
            raise ConfigError(
                f"{option} {asked!r} conflicts with the checkpoint's {saved!r}: leave {option} out to resume it, "
                "or start a new run in another --out",
                point.path,
            )
    return system


def crop_spec(system: RecognitionSystem) -> CropSpec:
    return CropSpec(**system.model.input_config())


def label_rules(system: RecognitionSystem) -> LabelRules:
    model = system.model
    return LabelRules(
        system.charset,
        system.decoder,
        int(getattr(model, "max_len", 25)),
        int(getattr(model, "time_stride", 4)),
    )


def build_datamodule(cfg: RecTrainConfig, system: RecognitionSystem, accelerator: str) -> RecognitionDataModule:
    if not cfg.data:
        raise ConfigError("no training data: give at least one --data source (e.g. synth:preset=mixed)")
    specs = [parse_source(s) for s in cfg.data]
    train = [build_source(s, system.charset, cfg.seed) for s in specs]
    val = []
    for text in cfg.val:
        source = build_source(parse_source(text), system.charset, cfg.seed)
        if not isinstance(source, IndexedSource):
            raise ConfigError(f"--val {text}: validation needs a fixed set (manifest, lmdb or fake), not a stream")
        val.append(source)
    workers = default_workers(accelerator) if cfg.workers is None else cfg.workers
    return RecognitionDataModule(
        train,
        [s.weight for s in specs],
        val,
        crop_spec(system),
        label_rules(system),
        batch_size=cfg.batch,
        workers=workers,
        seed=cfg.seed,
        val_batch_size=cfg.val_batch,
        pin_memory=accelerator == "cuda",
    )


def build_trainer(cfg: RecTrainConfig, accelerator: str, has_val: bool) -> tuple[Any, Any, Any]:
    """The Lightning Trainer with checkpointing, throughput, optional EMA and early stopping."""
    from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor
    from pytorch_lightning.callbacks.weight_averaging import EMAWeightAveraging

    from textlens.train.callbacks import (
        FinalCheckpoint,
        Throughput,
        checkpoint_callback,
        wall_clock_budget,
    )

    checkpoint = checkpoint_callback(cfg.out, "val/cer" if has_val else None, "min", cfg.val_every)
    throughput = Throughput()
    callbacks: list[Any] = [
        checkpoint,
        throughput,
        FinalCheckpoint(cfg.out / "last.ckpt"),
        LearningRateMonitor(logging_interval="step"),
    ]
    if cfg.ema:
        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay, update_starting_at_step=min(1000, cfg.steps // 10)))
    budget = wall_clock_budget(cfg.max_minutes, cfg.fit_schedule)
    if budget is not None:
        callbacks.append(budget)
    if cfg.patience and has_val:
        callbacks.append(EarlyStopping(monitor="val/cer", mode="min", patience=cfg.patience))
    precision = resolve_precision(cfg.precision, accelerator)
    trainer = step_trainer(
        cfg.out,
        accelerator,
        precision,
        cfg.steps,
        cfg.val_every if has_val else None,
        cfg.grad_clip,
        callbacks,
        cfg.progress,
        devices=cfg.devices,
        strategy=cfg.strategy,
        num_nodes=cfg.num_nodes,
    )
    return trainer, checkpoint, throughput


@torch.no_grad()
def evaluate(system: RecognitionSystem, datamodule: RecognitionDataModule, device: str) -> dict[str, float]:
    """CER and word accuracy of ``system`` (fp32, eval mode) on the validation set, in this process."""
    from textlens.eval.text import edit_distance, normalize

    loader = datamodule.val_dataloader()
    system = system.to(device).eval()
    edits = chars = exact = count = 0
    for batch in loader or []:
        if batch is None:
            continue
        batch = {**batch, "images": batch["images"].to(device)}
        for truth, pred in zip(batch["texts"], system.predict_texts(batch), strict=True):
            gt, hyp = normalize(truth), normalize(pred)
            edits, chars, exact, count = (
                edits + edit_distance(gt, hyp),
                chars + len(gt),
                exact + (gt == hyp),
                count + 1,
            )
    if count == 0:
        return {}
    return {"cer": round(edits / max(chars, 1), 5), "word_acc": round(exact / count, 5), "count": count}


def export_config(system: RecognitionSystem, name: str, training: dict[str, Any]) -> dict[str, Any]:
    """The ``config.json`` of the export folder (the schema the ONNX exporter and the runtime read)."""
    return {
        "name": name,
        "family": "recognition",
        "arch": system.hparams.arch,
        "decoder": system.decoder.value,
        # The full builder kwargs (registry defaults included), so the config alone rebuilds the model.
        "model": jsonable({**get_spec(system.hparams.arch).defaults, **system.hparams.model_kwargs}),
        "charset": system.charset.chars,
        "input": crop_spec(system).to_config(),
        "runtime": RUNTIME,
        "training": training,
    }


def export_model(
    system: RecognitionSystem,
    out_dir: Path,
    name: str,
    training: dict[str, Any],
    export_graph: GraphExporter | None = None,
) -> Path:
    """Write ``config.json`` and fp16 ``model.safetensors`` (and the graph, when ``export_graph`` is given)."""
    return write_export(system.model, export_config(system, name, training), out_dir, export_graph)


def train_recognizer(
    cfg: RecTrainConfig, log: Any = print, export_graph: GraphExporter | None = None
) -> dict[str, Any]:
    """Train as ``cfg`` says and export; returns the training summary (also written to summary.json).

    The export folder holds ``config.json`` and fp16 ``model.safetensors``; ``export_graph`` (the CLI passes
    none: ``textlens export bundle`` writes a recogniser's graph, with its parity check) would add the graph.
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
    trainer, checkpoint, throughput = build_trainer(cfg, accelerator, bool(datamodule.val_sources))
    # Lightning restores the optimiser, the loops' step (and so the data stream's start) and the callbacks'
    # state (the throughput counts) from the checkpoint; tensors and plain values only.
    trainer.fit(system, datamodule=datamodule, ckpt_path=None if point is None else point.path, weights_only=True)
    if not trainer.is_global_zero:
        return {}
    return finish(cfg, system, datamodule, trainer, checkpoint, throughput, accelerator, started, export_graph)


def finish(
    cfg: RecTrainConfig,
    system: RecognitionSystem,
    datamodule: RecognitionDataModule,
    trainer: Any,
    checkpoint: Any,
    throughput: Any,
    accelerator: str,
    started: float,
    export_graph: GraphExporter | None = None,
) -> dict[str, Any]:
    """Pick the best (else last) weights, measure them on the validation set, export, write the summary."""
    source = load_best_weights(system.model, cfg.out)
    # Under ddp_spawn this process did not train: the last checkpoint holds the counts and the best score.
    last = cfg.out / "last.ckpt"
    state = read_checkpoint(last) if last.is_file() else {}
    saved = state.get("callbacks", {})
    counts = next((v for k, v in saved.items() if k.startswith("Throughput")), throughput.state_dict())
    best_score = next(
        (v.get("best_model_score") for k, v in saved.items() if k.startswith("ModelCheckpoint")),
        checkpoint.best_model_score,
    )
    summary = {
        "arch": system.hparams.arch,
        "steps": int(state.get("global_step", trainer.global_step)),
        "batch": cfg.batch,
        "lr": cfg.lr,
        **throughput_summary(counts["samples"], float(counts["train_seconds"])),
        "wall_seconds": wall_seconds(started),
        "device": accelerator,
        "devices": cfg.devices,
        "num_nodes": cfg.num_nodes,
        "precision": resolve_precision(cfg.precision, accelerator),
        "ema": cfg.ema,
        "data": list(cfg.data),
        "val": list(cfg.val),
        "finetune": cfg.finetune,
        "weights_from": weights_source(source),
        "best_val_cer": rounded(best_score, 5),
        "final_val": evaluate(system, datamodule, accelerator) if datamodule.val_sources else {},
    }
    export_model(system.cpu(), cfg.out / "export", cfg.name or cfg.out.name, summary, export_graph)
    write_summary(cfg.out, summary)
    return summary
