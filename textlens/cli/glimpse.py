"""``textlens glimpse``: draw where RAM/DRAM look (``show``), score them on a digit task (``eval``), average
their weights (``average``), write task samples (``sample``); ``textlens train glimpse`` trains them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.errors import TextlensError
from textlens.models.registry import needs_train_extra, require_torch

app = typer.Typer(
    help="Glimpse models (RAM, DRAM): show their glimpse path, evaluate, average, sample tasks.", no_args_is_help=True
)
console = Console(stderr=True, highlight=False)

# The digit data every glimpse command reads (textlens.data.digits: --data, else $TEXTLENS_DATA/mnist).
DigitData = Annotated[
    str | None,
    typer.Option(
        help="MNIST folder with the train IDX files (default: $TEXTLENS_DATA/mnist), or for svhn the folder "
        "of digitStruct.mat."
    ),
]


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
            from textlens.models.glimpse.draw import write_picture
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
    data: DigitData = None,
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
            from textlens.train.glimpse_eval import evaluate_task
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
    from textlens.export.average import write_glimpse_average

    try:
        require_torch("textlens glimpse average")
        config = write_glimpse_average(folders, output, weight or None, name)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    shares = ", ".join(f"{a['source']} {a['weight']:.2f}" for a in config["averaged_from"])
    console.print(f"averaged {len(folders)} models ({shares}) into {output}")


@app.command()
def sample(
    output: Annotated[Path, typer.Argument(help="PNG to write.")],
    task: Annotated[str, typer.Option(help="Digit task.")] = "mnist",
    data: DigitData = None,
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
