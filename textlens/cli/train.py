"""``textlens train``: train models with PyTorch Lightning: ``rec`` (text recognisers, here), ``det`` (text
detectors, :mod:`textlens.cli.train_det`) and ``glimpse`` (RAM / DRAM, :mod:`textlens.cli.train_glimpse`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.cli.train_det import det
from textlens.cli.train_glimpse import train_glimpse
from textlens.errors import TextlensError

app = typer.Typer(help="Train models.", no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def main() -> None:
    """Train models."""


@app.command("rec")
def rec(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Training source (repeatable): synth:preset=mixed,fonts=train"
        " | manifest:PATH[,crops=words|lines] | lmdb:PATH | fake:n=256; add ,weight=W"
        " to mix.",
    ),
    out: Path = typer.Option(..., "--out", help="Run folder (checkpoints, logs, export/)."),
    val: list[str] = typer.Option([], "--val", help="Validation set (repeatable): manifest:PATH | lmdb:PATH."),
    arch: str | None = typer.Option(
        None, help="Registered recogniser (default crnn_small, or --finetune's; with --resume, the checkpoint's)."
    ),
    steps: int = typer.Option(
        10_000, help="Optimiser steps in total, those before a --resume checkpoint included (so more than it reached)."
    ),
    batch: int = typer.Option(64, help="Batch size per device."),
    lr: float = typer.Option(1e-3, help="Peak learning rate (AdamW; warm-up then cosine)."),
    height: int | None = typer.Option(None, help="Input height (32 or 48; default: the model's)."),
    channels: int | None = typer.Option(None, help="Input channels: 1 gray, 3 RGB (default: the model's)."),
    charset: str | None = typer.Option(None, help="latin, ascii, digits, devanagari or literal characters."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue from OUT/last.ckpt: model, optimiser, throughput counts and the data stream where it stopped"
        " (exactly, with the same --data, --batch, --seed and --devices; a warning otherwise). Refused with an --arch,"
        " --charset, --height or --channels other than the checkpoint's, with --finetune, or with --steps below the"
        " step it reached; --steps equal to it trains nothing and only finishes the run (export and summary).",
    ),
    finetune: str | None = typer.Option(None, help="Start from a bundled model, export folder or checkpoint."),
    ema: bool = typer.Option(False, "--ema", help="Keep an exponential moving average of the weights."),
    workers: int | None = typer.Option(None, help="DataLoader workers (default: min(4, cpus-1) on GPU, 1 on CPU)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    val_every: int = typer.Option(1000, help="Validate (and checkpoint) every N steps."),
    precision: str = typer.Option("auto", help="auto (bf16 where the GPU/CPU has it, else fp32), bf16, fp16 or fp32."),
    devices: int = typer.Option(1, help="Devices (processes) to train on."),
    num_nodes: int = typer.Option(1, min=1, help="Machines (torchrun / a cluster launcher starts one per node)."),
    strategy: str = typer.Option("auto", help="Lightning strategy: auto, ddp, ddp_spawn."),
    patience: int | None = typer.Option(None, help="Stop after N validations without a better CER."),
    seed: int = typer.Option(0, help="Seed of the data streams and initialisation."),
    grad_clip: float = typer.Option(5.0, help="Gradient norm clip."),
    name: str | None = typer.Option(None, help="Model name written in export/config.json (default: OUT's name)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    max_minutes: float | None = typer.Option(
        None, help="Stop after this much wall-clock training time, then export (for fixed budgets)."
    ),
    fit_schedule: bool = typer.Option(
        False, "--fit-schedule", help="End the learning-rate decay when --max-minutes runs out."
    ),
) -> None:
    """Train a text recogniser; writes OUT/{last,best}.ckpt, OUT/summary.json and OUT/export/."""
    from textlens.train.rec import RecTrainConfig, train_recognizer

    cfg = RecTrainConfig(
        out=out,
        data=data,
        val=val,
        arch=arch,
        steps=steps,
        batch=batch,
        lr=lr,
        height=height,
        channels=channels,
        charset=charset,
        resume=resume,
        finetune=finetune,
        ema=ema,
        workers=workers,
        device=device,
        val_every=val_every,
        precision=precision,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        patience=patience,
        seed=seed,
        grad_clip=grad_clip,
        name=name,
        progress=progress,
        max_minutes=max_minutes,
        fit_schedule=fit_schedule,
    )
    try:
        summary = train_recognizer(cfg, log=console.print)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    if summary:
        console.print(json.dumps({k: summary[k] for k in ("steps", "samples_per_s", "final_val")}))
        console.print(f"exported to {out / 'export'}")


@app.command("plot")
def plot(
    run: Path = typer.Argument(..., help="A run folder (RUN/logs/metrics.csv), its logs folder or the metrics.csv."),
    out: Path | None = typer.Option(None, "--out", "-o", help="The PNG to write (default: curves.png beside the log)."),
) -> None:
    """Draw a run's training curves (loss, CER / error, accuracy / F1, learning rate by step) as a PNG.

    Every run also writes RUN/logs/curves.png when it ends; this redraws it, e.g. while a run is going.
    Needs matplotlib (pip install 'textlens[viz]'); works without torch.
    """
    from textlens.train.plots import plot_run

    try:
        written = plot_run(run, out)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    except ImportError as exc:
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(1) from exc
    print(written)


# The other families' trainers live in their own modules.
app.command("det")(det)
app.command("glimpse")(train_glimpse)

if __name__ == "__main__":  # recipes run python -m textlens.cli.train
    app()
