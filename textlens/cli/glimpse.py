"""``textlens glimpse``: draw where RAM/DRAM look (``show``), score them on a digit task (``eval``), write
task samples (``sample``); ``train_glimpse`` is the ``textlens train glimpse`` command."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.errors import OutputError, TextlensError
from textlens.models.registry import needs_train_extra, require_torch

app = typer.Typer(
    help="Glimpse models (RAM, DRAM): show their glimpse path, evaluate, sample tasks.", no_args_is_help=True
)
console = Console(stderr=True, highlight=False)

# One colour per glimpse (RGB), cycling; chosen to read on black and white.
PALETTE = [
    (255, 64, 64),
    (255, 160, 0),
    (240, 230, 40),
    (80, 220, 80),
    (40, 200, 255),
    (90, 120, 255),
    (200, 90, 255),
    (255, 100, 200),
]


HEADER = 28  # pixels of the caption band


def train_glimpse(
    arch: Annotated[str, typer.Option(help="ram or dram.")] = "ram",
    task: Annotated[
        str, typer.Option(help="mnist, translated, cluttered60, cluttered100, multidigit or svhn.")
    ] = "mnist",
    data: Annotated[
        str | None,
        typer.Option(
            help="MNIST folder with the train IDX files (default "
            "../shared/data/mnist), or for svhn the folder of digitStruct.mat."
        ),
    ] = None,
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
            "or --task, or --steps at or below the step it reached).",
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
            help="Override a builder argument, KEY=JSON (repeatable), e.g. --model-option scales=3 "
            "--model-option hidden=512.",
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
        model=_model_options(model_option or []),
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


app.command("train")(train_glimpse)


# ---------------------------------------------------------------- drawing
def _upscale(canvas: np.ndarray) -> tuple[np.ndarray, int]:
    import cv2

    factor = max(1, int(np.ceil(280 / min(canvas.shape))))
    big = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2RGB), factor


def draw_path(traj: Any, upto: int | None = None) -> np.ndarray:
    """An RGB picture: the model's canvas, each glimpse's nested patch squares, the numbered path."""
    import cv2

    image, k = _upscale(traj.canvas)
    count = len(traj.locations) if upto is None else upto + 1
    centres = [(round(b[0][0] + b[0][2]) * k // 2, round(b[0][1] + b[0][3]) * k // 2) for b in traj.boxes[:count]]
    for index in range(count):
        colour = PALETTE[index % len(PALETTE)]
        current = upto is not None and index == upto
        for scale, (x0, y0, x1, y1) in enumerate(traj.boxes[index]):
            thick = 2 if current or upto is None else 1
            cv2.rectangle(
                image,
                (int(x0 * k), int(y0 * k)),
                (int(x1 * k), int(y1 * k)),
                colour,
                max(1, thick - (scale > 0 and not current)),
                cv2.LINE_AA,
            )
    for a, b in itertools.pairwise(centres):
        cv2.line(image, a, b, (255, 255, 255), 1, cv2.LINE_AA)
    for index, (x, y) in enumerate(centres):
        colour = PALETTE[index % len(PALETTE)]
        cv2.circle(image, (x, y), 9, colour, -1, cv2.LINE_AA)
        cv2.putText(
            image,
            str(index + 1),
            (x - 5 if index < 9 else x - 9, y + 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    # A header band above the image carries the step and the answer, so they never hide the digits.
    image = cv2.copyMakeBorder(image, HEADER, 0, 0, 0, cv2.BORDER_CONSTANT, value=(32, 32, 32))
    done = upto is None or upto == len(traj.locations) - 1
    text = f"{count} glimpses -> {traj.label}" if done else f"glimpse {count}"
    cv2.putText(image, text, (6, HEADER - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def write_picture(traj: Any, output: Path, gif: bool = False) -> Path:
    """Write the path picture (PNG, or an animated GIF of one frame per glimpse) atomically."""
    from PIL import Image

    from textlens.io.atomic import atomic_path

    try:
        with atomic_path(output) as tmp:
            if gif:
                frames = [Image.fromarray(draw_path(traj, t)) for t in range(len(traj.locations))]
                frames.append(Image.fromarray(draw_path(traj)))
                frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=700, loop=0)
            else:
                Image.fromarray(draw_path(traj)).save(tmp, format="PNG")
    except OSError as exc:
        raise OutputError(f"cannot write the picture ({exc})", output) from exc
    return output


@app.command()
def show(
    image: Annotated[Path, typer.Argument(help="Image of a digit (or digit string) to look at.")],
    model: Annotated[
        str, typer.Option("--model", help="Bundled name (ram_mnist, dram_multidigit) or an export folder.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Picture to write (.png, or .gif with --gif).")],
    gif: Annotated[bool, typer.Option("--gif", help="Write an animated GIF, one frame per glimpse.")] = False,
) -> None:
    """Draw the glimpse path (numbered locations, lines) and the patch scales (nested squares) over IMAGE."""
    from textlens.data.manifest import read_rgb

    try:
        with needs_train_extra("textlens glimpse show"):
            from textlens.models.glimpse.predict import load_glimpse, trajectory
        traj = trajectory(load_glimpse(model), read_rgb(image))
        write_picture(traj, output, gif)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(f"{image}: {traj.label} ({len(traj.locations)} glimpses) -> {output}")


@app.command("eval")
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Bundled name or export folder.")],
    task: Annotated[str | None, typer.Option(help="Task (default: the model's).")] = None,
    data: Annotated[str | None, typer.Option(help="MNIST folder (or SVHN folder for svhn).")] = None,
    limit: Annotated[int, typer.Option(help="Validation samples to score.")] = 5000,
    samples: Annotated[int, typer.Option(help="Monte-Carlo glimpse paths to average (1: the mean path).")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the validation stream and of sampled paths.")] = 0,
    holdout: Annotated[int, typer.Option(help="Last MNIST training images kept as the validation split.")] = 5000,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Accuracy and error of a glimpse model on the validation split (last 5,000 MNIST training images)."""
    from textlens.data.digits import build_task

    try:
        with needs_train_extra("textlens glimpse eval"):
            from textlens.models.glimpse.predict import load_glimpse
            from textlens.train.glimpse import evaluate_task
        loaded = load_glimpse(model)
        name = task or loaded.config.get("task", {}).get("name", "mnist")
        val = build_task(name, "val", data, seed=seed, val_size=holdout)
        result = {
            "model": model,
            "task": name,
            **evaluate_task(loaded.model, val, limit, samples=samples, seed=seed),
        }
    except TextlensError as exc:
        raise fail(exc, console) from exc
    if json_out:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"{model} on {name} validation ({result['count']} samples, {samples} path(s)): "
            f"accuracy {result['accuracy']:.2%}, error {result['error']:.2%}"
        )
        if "error_by_length" in result:
            lengths = ", ".join(f"{n}: {error:.2%}" for n, error in result["error_by_length"].items())
            typer.echo(
                f"character error rate {result['cer']:.2%}, wrong length {result['wrong_length']:.2%}; "
                f"string error by length {lengths}"
            )


@app.command("average")
def average(
    folders: Annotated[list[Path], typer.Argument(help="Glimpse model folders (bundles or trainer exports).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write (config.json + model.safetensors).")],
    weight: Annotated[
        list[float] | None, typer.Option("--weight", "-w", help="One weight per folder, in order (default: equal).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name in config.json (default: OUTPUT's).")] = None,
) -> None:
    """Average the weights of glimpse models trained on from one start (a "model soup") into one model.

    Same architecture, options and cost as each source; config.json records every source's training. Score
    the result with ``textlens glimpse eval`` before using it: averaging helps checkpoints of one lineage
    (stages continued from each other) and ruins unrelated models.
    """
    from textlens.errors import ConfigError
    from textlens.export.average import average_folders
    from textlens.io.atomic import atomic_write_text
    from textlens.models.serialization import save_weights

    try:
        require_torch("textlens glimpse average")
        model, config = average_folders(folders, weight or None)
        if config.get("family") != "glimpse":
            raise ConfigError(f"{folders[0]} is a {config.get('family')} model: use textlens export average")
        config["name"] = name or output.name
        save_weights(model, output / "model.safetensors", half=True)
        atomic_write_text(output / "config.json", json.dumps(config, indent=2) + "\n")
    except TextlensError as exc:
        raise fail(exc, console) from exc
    shares = ", ".join(f"{a['source']} {a['weight']:.2f}" for a in config["averaged_from"])
    console.print(f"averaged {len(folders)} models ({shares}) into {output}")


@app.command()
def sample(
    output: Annotated[Path, typer.Argument(help="PNG to write.")],
    task: Annotated[str, typer.Option(help="Digit task.")] = "mnist",
    data: Annotated[str | None, typer.Option(help="MNIST folder (or SVHN folder for svhn).")] = None,
    split: Annotated[str, typer.Option(help="train or val.")] = "val",
    index: Annotated[int, typer.Option(help="Sample index.")] = 0,
) -> None:
    """Write one generated sample of a task as a PNG (its label is printed), e.g. to try ``show`` on."""
    from PIL import Image

    from textlens.data.digits import build_task
    from textlens.io.atomic import atomic_path

    try:
        image, label = build_task(task, split, data).sample(index)
        with atomic_path(output) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
    except TextlensError as exc:
        raise fail(exc, console) from exc
    typer.echo(f"{output}: {label}")


def _model_options(pairs: list[str]) -> dict[str, Any]:
    """``["scales=3", "glimpse_channels=[16,32]"]`` → ``{"scales": 3, "glimpse_channels": [16, 32]}``."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--model-option")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value  # a bare word, e.g. cell=lstm
    return options
