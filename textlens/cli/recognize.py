"""``textlens recognize``: read images that each hold one cropped word or line (no detection).

Text format prints one line per input image, in input order: the recognised text alone, so the
output lines up with the inputs (an image that cannot be read gives an empty line, and its error
goes to standard error). JSONL prints ``{"image", "text", "confidence", "turned_cw"}`` per image
(``turned_cw``: 90 or 270 when the crop held vertical text and was read turned clockwise by that many degrees,
else 0). Exit code 1 when any image failed or no recogniser is available.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.markup import escape

from textlens.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    SecondLookOpt,
    console,
    expand_inputs,
    fail,
    second_look_option,
)
from textlens.errors import TextlensError

if TYPE_CHECKING:
    from textlens.runtime.base import Recognition


class CropFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


def load_crop(path: Path) -> np.ndarray:
    """One image file as RGB uint8 (first page of multi-page files)."""
    from textlens.io.load import load_image

    return load_image(path).image


def _emit(path: Path, result: Recognition | None, fmt: CropFormat, error: str | None = None) -> None:
    if fmt is CropFormat.jsonl:
        record: dict[str, Any] = {
            "image": str(path),
            "text": "" if result is None else result.text,
            "confidence": None if result is None else round(result.confidence, 4),
            "turned_cw": None if result is None else result.turned_cw,
        }
        if error is not None:
            record["error"] = error
        typer.echo(json.dumps(record, ensure_ascii=False))
    else:
        typer.echo("" if result is None else result.text)


def recognize(
    crops: Annotated[list[str], typer.Argument(help="Images, each one cropped word or text line.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Bundled recogniser name or model folder.")] = None,
    format: Annotated[CropFormat, typer.Option("--format", "-f", help="text or jsonl.")] = CropFormat.text,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all).")] = None,
    beam: Annotated[int, typer.Option(help="CTC beam width (0: greedy).", min=0)] = 0,
    lexicon: Annotated[Path | None, typer.Option(help="Word list (one per line) to snap words to.")] = None,
    batch_size: Annotated[int, typer.Option(help="Crops per inference batch.", min=1)] = 32,
    second_look: SecondLookOpt = None,
) -> None:
    """Recognise the text of pre-cropped word or line images (no detection)."""
    from textlens.runtime.loading import load_recognizer

    try:
        options = second_look_option(second_look)
        recognizer = load_recognizer(
            model, threads=threads, beam_width=beam, lexicon=lexicon, batch_size=batch_size, **options
        )
    except TextlensError as exc:
        raise fail(exc) from exc
    failed = 0
    paths = expand_inputs(crops)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images: list[np.ndarray | None] = []
        errors: list[str | None] = []
        for path in chunk:
            try:
                images.append(load_crop(path))
                errors.append(None)
            except TextlensError as exc:
                message = str(exc) if exc.source else f"{path}: {exc}"
                console.print(f"[red]error[/red] {escape(message)}", soft_wrap=True)
                images.append(None)
                errors.append(message)
                failed += 1
        readable = [im for im in images if im is not None]
        results = iter(recognizer.recognize(readable))
        for path, image, error in zip(chunk, images, errors, strict=True):
            if image is None:
                _emit(path, None, format, error)
            else:
                _emit(path, next(results), format)
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)
