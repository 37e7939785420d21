"""``textlens digits``: handwritten digits: ``train`` a single-digit classifier (``digits_cnn``), ``classify``
images with a bundled one, and ``strings``: compose handwritten digit strings (amounts, dates, phone numbers,
codes) from MNIST digits as a crop manifest for ``textlens train rec``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from textlens.cli.common import fail
from textlens.data.digit_strings import DigitBank
from textlens.errors import TextlensError
from textlens.models.registry import needs_train_extra
from textlens.options import parse_options

app = typer.Typer(help="Handwritten digits: train a classifier, classify images, compose digit strings.")
console = Console(stderr=True, highlight=False)


@app.callback()
def main() -> None:
    """Handwritten digits: train a classifier, classify images, compose digit strings."""


@app.command("train")
def train(
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, logs, summary.json, export/).")] = Path(
        "runs/digits_cnn"
    ),
    source: Annotated[str, typer.Option(help="mnist (IDX files) or manifest (a label manifest).")] = "mnist",
    data: Annotated[
        str | None, typer.Option(help="MNIST folder (default $TEXTLENS_DATA/mnist) or the label manifest.")
    ] = None,
    holdout: Annotated[int, typer.Option(help="mnist: last training images kept as the validation split.")] = 5000,
    holdout_percent: Annotated[
        int, typer.Option(help="manifest: percent of images held out, chosen by a hash of their paths.")
    ] = 20,
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 6000,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine).")] = 3e-3,
    elastic: Annotated[float, typer.Option(help="Elastic warp amplitude in pixels (0: none).")] = 1.2,
    rotate: Annotated[float, typer.Option(help="Random rotation, ± degrees.")] = 12.0,
    val_every: Annotated[int, typer.Option(help="Validate and checkpoint every N steps.")] = 500,
    max_minutes: Annotated[float | None, typer.Option(help="Stop training after this many minutes.")] = None,
    fit_schedule: Annotated[
        bool, typer.Option("--fit-schedule", help="End the learning-rate decay when --max-minutes runs out.")
    ] = False,
    ema: Annotated[float | None, typer.Option(help="Average the weights with this decay (e.g. 0.999).")] = None,
    weights: Annotated[
        str, typer.Option(help="Export the best check's weights (by validation error) or the final ones.")
    ] = "best",
    model_option: Annotated[
        list[str] | None,
        typer.Option("--model-option", help="Override a builder argument, KEY=VALUE (e.g. channels=[16,32,64])."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
    seed: Annotated[int, typer.Option(help="Seed of the data order, augmentation and initialisation.")] = 0,
    name: Annotated[str | None, typer.Option(help="Name written in export/config.json (default: OUT's).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Train a digit classifier; writes OUT/{best,last}.ckpt, OUT/summary.json and OUT/export/ (with ONNX)."""
    try:
        with needs_train_extra("training a digit classifier"):
            from textlens.models.digits import export_digits_onnx
            from textlens.train.digits import DigitsTrainConfig, train_digits_model
        model = parse_options(model_option or [], "--model-option")
        cfg = DigitsTrainConfig(
            out=out,
            source=source,
            data=data,
            holdout=holdout,
            holdout_percent=holdout_percent,
            steps=steps,
            batch=batch,
            lr=lr,
            elastic=elastic,
            rotate=rotate,
            val_every=val_every,
            max_minutes=max_minutes,
            fit_schedule=fit_schedule,
            ema=ema,
            weights=weights,
            device=device,
            seed=seed,
            name=name,
            progress=progress,
            model=model,
        )
        summary = train_digits_model(cfg, graph=export_digits_onnx, log=console.print)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(json.dumps({k: summary[k] for k in ("steps", "samples_per_s", "best_val_error", "final_val")}))


@app.command("classify")
def classify(
    images: Annotated[list[Path], typer.Argument(help="Images of single digits.")],
    model: Annotated[str, typer.Option("--model", help="Bundled classifier or bundle folder.")] = "digits_cnn",
) -> None:
    """Print each image's digit and its probability (torch-free: onnxruntime)."""
    from textlens.io.load import load_image
    from textlens.models.digits_predict import load_digit_classifier

    try:
        classifier = load_digit_classifier(model)
        for path in images:
            probabilities = classifier.probabilities([load_image(path).image])[0]
            best = int(probabilities.argmax())
            typer.echo(f"{path}\t{classifier.labels[best]}\t{probabilities[best]:.3f}")
    except TextlensError as exc:
        raise fail(exc, console) from exc


@app.command("strings")
def strings(
    out: Annotated[Path, typer.Option(help="Output folder: images/ and manifest.jsonl (text crops).")],
    data: Annotated[
        str | None, typer.Option(help="MNIST folder (default $TEXTLENS_DATA/mnist): the digits drawn.")
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="Digits to draw: train (all but the last --holdout training images), val (the last --holdout, "
            "never trained on) or test (the t10k files, when the folder has them)."
        ),
    ] = "train",
    holdout: Annotated[int, typer.Option(help="Last MNIST training images that form the val split.")] = 5000,
    count: Annotated[int, typer.Option(min=1, help="Strings to write.")] = 1000,
    kinds: Annotated[str, typer.Option(help="Comma-separated: amount, date, phone, code.")] = "amount,date,phone,code",
    seed: Annotated[int, typer.Option(help="Seed of the stream (sample i is the same for a seed).")] = 0,
) -> None:
    """Compose handwritten digit strings (amounts, dates, phone numbers, codes) from MNIST digits as a crop
    manifest; train a recogniser on it with `textlens train rec --data manifest:OUT/manifest.jsonl`."""
    from textlens.data.digit_strings import sample
    from textlens.data.manifest import ManifestWriter
    from textlens.data.samples import CropSample

    try:
        bank = digit_bank(data, split, holdout)
        chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
        with ManifestWriter(out) as writer:
            for index in range(count):
                composed = sample(bank, seed, index, chosen)
                writer.add(CropSample(image=composed.image, text=composed.text), extra={"split": split})
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(f"{count} strings from MNIST {split} digits → {out / 'manifest.jsonl'}")


def digit_bank(data: str | None, split: str, holdout: int) -> DigitBank:
    """The digits of one split of MNIST (train / val as the classifiers split it, or the test files)."""
    from textlens.data.digits import default_mnist, load_mnist_splits
    from textlens.data.readers.mnist import MnistReader
    from textlens.errors import ConfigError

    folder = Path(data) if data else default_mnist()
    if split == "test":
        images, labels = MnistReader(folder, split="test").arrays()
        return DigitBank.from_arrays(images, labels)
    if split not in ("train", "val"):
        raise ConfigError(f"--split must be train, val or test, got {split!r}")
    return DigitBank.from_arrays(*load_mnist_splits(folder, holdout).split(split))
