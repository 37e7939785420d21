"""``textlens train glimpse``: train RAM or DRAM on a digit task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.cli.glimpse import DigitData
from textlens.errors import TextlensError
from textlens.models.registry import needs_train_extra
from textlens.options import parse_options

console = Console(stderr=True, highlight=False)


def train_glimpse(
    arch: Annotated[str, typer.Option(help="ram or dram.")] = "ram",
    task: Annotated[
        str, typer.Option(help="mnist, translated, cluttered60, cluttered100, multidigit or svhn.")
    ] = "mnist",
    data: DigitData = None,
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, logs, summary.json, export/).")] = Path(
        "runs/glimpse"
    ),
    glimpses: Annotated[int | None, typer.Option(help="RAM: glimpses; DRAM: glimpses per symbol.")] = None,
    steps: Annotated[int, typer.Option(help="Optimiser steps (ignored with --epochs).")] = 20_000,
    epochs: Annotated[float | None, typer.Option(help="Passes over the training split instead of --steps.")] = None,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (Adam, warm-up then cosine).")] = 1e-3,
    std: Annotated[
        float | None,
        typer.Option(help="Location policy standard deviation (default: the --init model's, else RAM 0.1, DRAM 0.05)."),
    ] = None,
    cell: Annotated[str | None, typer.Option(help="RAM core: rnn (ReLU RNN, default) or lstm.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from OUT/last.ckpt (the sample stream where it stopped; refused with another --arch "
            "or --task, or --steps below the step it reached; --steps equal to it only finishes the run).",
        ),
    ] = False,
    init: Annotated[
        str | None,
        typer.Option(
            help="Start from these weights (export folder or file); the model keeps their shape, glimpses "
            "and σ unless an option sets them; with --model-option scales=N above theirs, the added sensor scales "
            "start at zero weight."
        ),
    ] = None,
    max_minutes: Annotated[float | None, typer.Option(help="Stop training after this many minutes.")] = None,
    fit_schedule: Annotated[
        bool, typer.Option("--fit-schedule", help="End the learning-rate decay when --max-minutes runs out.")
    ] = False,
    val_every: Annotated[int, typer.Option(help="Validate and checkpoint every N steps.")] = 1000,
    val_size: Annotated[int, typer.Option(help="Validation samples (at most the split's size).")] = 5000,
    holdout: Annotated[int, typer.Option(help="Last MNIST training images kept as the validation split.")] = 5000,
    mc_samples: Annotated[int, typer.Option(help="Also report the error averaging N sampled paths.")] = 10,
    jitter: Annotated[int, typer.Option(help="mnist task: shift training digits by up to N pixels.")] = 0,
    ema: Annotated[
        float | None,
        typer.Option(
            help="Average the weights as training goes (exponential moving average with this decay, e.g. 0.9995); "
            "validation, checkpoints and the export use the average. Pass it again with --resume."
        ),
    ] = None,
    model_option: Annotated[
        list[str] | None,
        typer.Option(
            "--model-option",
            help="Override a builder argument, KEY=VALUE with a JSON value or a bare word (repeatable), e.g. "
            "--model-option scales=3 --model-option glimpse_channels=[16,32].",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Data loader workers (default 0 on CPU).")] = None,
    precision: Annotated[
        str,
        typer.Option(help="fp32, or bf16 (autocast; the location policy and baseline stay fp32), fp16 on a GPU."),
    ] = "fp32",
    seed: Annotated[int, typer.Option(help="Seed of the data streams and initialisation.")] = 0,
    name: Annotated[str | None, typer.Option(help="Name written in export/config.json (default: OUT's).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Train RAM or DRAM on a digit task; writes OUT/{best,last}.ckpt, OUT/summary.json and OUT/export/."""
    try:
        with needs_train_extra("training a glimpse model"):
            from textlens.train.glimpse import GlimpseTrainConfig, train_glimpse_model
        model = parse_options(model_option or [], "--model-option")
    except TextlensError as exc:
        raise fail(exc, console) from exc
    cfg = GlimpseTrainConfig(
        out=out,
        arch=arch,
        task=task,
        data=data,
        glimpses=glimpses,
        steps=steps,
        epochs=epochs,
        batch=batch,
        lr=lr,
        std=std,
        cell=cell,
        device=device,
        resume=resume,
        init=init,
        max_minutes=max_minutes,
        fit_schedule=fit_schedule,
        val_every=val_every,
        val_size=val_size,
        holdout=holdout,
        mc_samples=mc_samples,
        jitter=jitter,
        ema=ema,
        model=model,
        workers=workers,
        precision=precision,
        seed=seed,
        name=name,
        progress=progress,
    )
    try:
        summary = train_glimpse_model(cfg, log=console.print)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(
        json.dumps(
            {
                "steps": summary["steps"],
                "samples_per_s": summary["samples_per_s"],
                "final_val": summary["final_val"],
            }
        )
    )
