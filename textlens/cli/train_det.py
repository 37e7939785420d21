"""``textlens train det``: train a text detector (registered in the ``train`` group by :mod:`textlens.cli.train`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.errors import TextlensError

console = Console(stderr=True)


def det(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Training pages (repeatable): synth-pages:kind=mixed|scene_photo|...[,crops=2]"
        " | manifest:PATH[,start=I,stop=J] | fake-pages:n=32; add ,weight=W to mix.",
    ),
    out: Path = typer.Option(..., "--out", help="Run folder (checkpoints, logs, export/)."),
    val: list[str] = typer.Option(
        [], "--val", help="Validation pages (repeatable): manifest:PATH[,start=,stop=] | fake-pages:n=8."
    ),
    arch: str | None = typer.Option(None, help="Registered detector (default db_small, or --finetune's)."),
    steps: int = typer.Option(20_000, help="Optimiser steps in total."),
    batch: int = typer.Option(8, help="Crops per batch."),
    size: int = typer.Option(640, help="Training crop size S (S×S)."),
    long_side: int = typer.Option(1024, "--long-side", help="Inference resize: the page's long side, px."),
    lr: float = typer.Option(2e-3, help="Peak learning rate (AdamW; warm-up then cosine)."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue from OUT/last.ckpt (model, optimiser, throughput counts and the data stream where it "
        "stopped; refused with another --arch or --finetune, or --steps below the step it reached; --steps "
        "equal to it only finishes the run).",
    ),
    finetune: str | None = typer.Option(None, help="Start from a bundled model, export folder or checkpoint."),
    ema: bool = typer.Option(False, "--ema", help="Keep an exponential moving average of the weights."),
    workers: int | None = typer.Option(None, help="DataLoader workers (default: cpus-1 on GPU, 1 on CPU)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    devices: int = typer.Option(1, min=1, help="Devices (processes) to train on."),
    num_nodes: int = typer.Option(1, min=1, help="Machines (torchrun / a cluster launcher starts one per node)."),
    strategy: str = typer.Option("auto", help="Lightning strategy: auto, ddp, ddp_spawn."),
    val_every: int = typer.Option(1000, help="Validate (and checkpoint) every N steps."),
    precision: str = typer.Option(
        "auto", help="auto (bf16 on GPU and bf16-capable CPUs, else fp32), bf16, fp16 (GPU) or fp32."
    ),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", help="Stop (checkpoint, export) after this much wall time."
    ),
    fit_schedule: bool = typer.Option(
        False, "--fit-schedule", help="End the learning-rate decay when --max-minutes runs out."
    ),
    seed: int = typer.Option(0, help="Seed of the data streams and initialisation."),
    name: str | None = typer.Option(None, help="Model name written in export/config.json (default: OUT's name)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a text detector; writes OUT/{last,best}.ckpt, OUT/summary.json and OUT/export/ (with ONNX)."""
    from textlens.export.detection import export_detector
    from textlens.train.detection import DetTrainConfig, train_detector

    cfg = DetTrainConfig(
        out=out,
        data=data,
        val=val,
        arch=arch,
        steps=steps,
        batch=batch,
        size=size,
        long_side=long_side,
        lr=lr,
        resume=resume,
        finetune=finetune,
        ema=ema,
        workers=workers,
        device=device,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        val_every=val_every,
        precision=precision,
        max_minutes=max_minutes,
        fit_schedule=fit_schedule,
        seed=seed,
        name=name,
        progress=progress,
    )
    try:
        summary = train_detector(cfg, log=console.print, export_graph=export_detector)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    if not summary:  # a rank other than 0 of a distributed run
        return
    console.print(json.dumps({k: summary.get(k) for k in ("steps", "samples_per_s", "best_val_f1", "final_val")}))
    console.print(f"exported to {out / 'export'}")
