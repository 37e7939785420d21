"""`textlens data`: list dataset formats, convert datasets to the manifest, draw contact sheets."""

from __future__ import annotations

import itertools
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from textlens.cli.common import console, fail
from textlens.data.readers import DatasetReader, list_formats, open_dataset, reader_class
from textlens.data.readers.convert import convert_to_manifest, iter_samples
from textlens.data.sheet import contact_sheet, save_image_atomic
from textlens.errors import ConfigError, InputError, TextlensError
from textlens.models.registry import needs_train_extra
from textlens.options import parse_options

app = typer.Typer(
    help="Dataset tools: list the readable formats, convert them to the manifest, draw contact sheets.",
    no_args_is_help=True,
    add_completion=False,
)


class Target(str, Enum):
    """Formats ``convert`` writes."""

    manifest = "manifest"


def _open(fmt: str, source: Path, opt: list[str] | None) -> DatasetReader[Any]:
    """Open a dataset for a command, turning failures into an error line and an exit code."""
    try:
        with needs_train_extra(f"the {fmt} dataset format"):  # scipy, h5py and lmdb come with the train extra
            return open_dataset(fmt, source, **parse_options(opt or [], "--opt"))
    except TypeError as exc:  # an --opt the reader does not take
        raise fail(ConfigError(f"bad --opt for {fmt}: {exc}")) from exc
    except TextlensError as exc:
        raise fail(exc) from exc


@app.command("formats")
def formats() -> None:
    """List the dataset formats textlens reads, with the sample type each yields."""
    table = Table("format", "yields", "aliases", "what it reads", box=None)
    for name in list_formats():
        cls = reader_class(name)
        kind = "any" if name == "manifest" else cls.kind
        table.add_row(name, kind, ", ".join(cls.aliases), cls.description)
    console.print(table)


@app.command("convert")
def convert(
    source: Annotated[Path, typer.Argument(help="Dataset folder or annotation file, as the format expects.")],
    out: Annotated[Path, typer.Argument(help="Output folder: receives manifest.jsonl and images/.")],
    from_format: Annotated[str, typer.Option("--from", "-f", help="Source format (see `formats`).")],
    to: Annotated[Target, typer.Option("--to", "-t", help="Target format.")] = Target.manifest,
    crops: Annotated[bool, typer.Option("--crops", help="Cut word crops out of a page dataset.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Read at most N items.")] = None,
    opt: Annotated[
        list[str] | None,
        typer.Option("--opt", "-O", help="Reader option KEY=VALUE, repeatable (e.g. split=test, gt_dir=DIR)."),
    ] = None,
) -> None:
    """Convert a dataset to the textlens manifest (page images copied as they are, crops written as PNG)."""
    reader = _open(from_format, source, opt)
    cutting = crops and reader.kind == "page"
    if crops and not cutting:
        console.print(f"[yellow]note[/yellow] {reader.name} yields {reader.kind} samples; --crops ignored")
    total = len(reader) if limit is None else min(limit, len(reader))
    label = "pages → crops" if cutting else f"{reader.kind}s"
    progress = Progress(
        TextColumn(f"[bold]converting {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("convert", total=total)
            manifest, count = convert_to_manifest(
                reader, out, crops=cutting, limit=limit, on_item=lambda: progress.advance(task)
            )
    except TextlensError as exc:
        raise fail(exc) from exc
    console.print(f"[green]wrote[/green] {count} samples to {manifest} (target: {to.value})")


@app.command("show")
def show(
    source: Annotated[Path, typer.Argument(help="A manifest (or any dataset with --format).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Sheet image to write (PNG, JPEG).")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Samples to show.")] = 36,
    cols: Annotated[int, typer.Option("--cols", "-c", min=1, help="Columns of the grid.")] = 6,
    cell_width: Annotated[int, typer.Option("--cell-width", min=32, help="Cell width in pixels.")] = 192,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Dataset format of SOURCE.")] = "manifest",
    crops: Annotated[bool, typer.Option("--crops", help="Show word crops cut out of pages.")] = False,
    opt: Annotated[list[str] | None, typer.Option("--opt", "-O", help="Reader option KEY=VALUE.")] = None,
) -> None:
    """Draw a contact sheet: crops with their text, pages with their word boxes, labelled images."""
    reader = _open(fmt, source, opt)
    try:
        items = list(itertools.islice(iter_samples(reader, crops=crops), limit))
        if not items:
            raise InputError("nothing to show: the dataset is empty", source)
        save_image_atomic(contact_sheet(items, cols=cols, cell_width=cell_width), output)
    except TextlensError as exc:
        raise fail(exc) from exc
    console.print(f"[green]wrote[/green] a sheet of {len(items)} samples to {output}")
