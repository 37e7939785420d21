"""``textlens synth``: write synthetic word/line crops (manifest or LMDB) and annotated pages (manifest)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from textlens.cli.common import fail
from textlens.errors import TextlensError
from textlens.models.registry import needs_train_extra

if TYPE_CHECKING:
    from textlens.data.lmdb_store import LmdbWriter
    from textlens.data.manifest import ManifestWriter

app = typer.Typer(help="Generate synthetic training data.", no_args_is_help=True)
console = Console(stderr=True, highlight=False)


class LinePreset(str, Enum):
    scan = "scan"
    photo = "photo"
    receipt = "receipt"
    scene = "scene"
    mixed = "mixed"


class PageKind(str, Enum):
    document = "document"
    receipt = "receipt"
    card = "card"
    scene = "scene"
    scene_photo = "scene_photo"
    mixed = "mixed"


class OutputFormat(str, Enum):
    manifest = "manifest"
    lmdb = "lmdb"


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _crop_writer(fmt: OutputFormat, out: Path, shard_size: int) -> ManifestWriter | LmdbWriter:
    """The writer of ``--format``; lmdb, from the train extra, is needed only when asked for."""
    if fmt is OutputFormat.manifest:
        from textlens.data.manifest import ManifestWriter

        return ManifestWriter(out)
    with needs_train_extra("textlens synth lines --format lmdb"):
        from textlens.data.lmdb_store import LmdbWriter

        return LmdbWriter(out, shard_size=shard_size)


@app.command()
def lines(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many crops.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    fonts: Annotated[str, typer.Option(help="train, val, all, or comma-separated font files/families.")] = "train",
    charset: Annotated[str, typer.Option(help="latin, ascii, digits, devanagari or literal characters.")] = "latin",
    preset: Annotated[LinePreset, typer.Option(help="The look of the crops.")] = LinePreset.mixed,
    height: Annotated[int | None, typer.Option(help="Resize crops to this height (default: capture size).")] = 32,
    seed: Annotated[int, typer.Option(help="Run seed: sample i is the same for any --workers.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes.")] = 1,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="manifest (PNG + JSONL) or lmdb.")
    ] = OutputFormat.manifest,
    shard_size: Annotated[int, typer.Option(help="Samples per LMDB shard.")] = 500_000,
) -> None:
    """Render labelled word/line crops."""
    from textlens.data.synth import LineRenderer, iter_generate

    font_spec: str | list[str] = fonts if fonts in {"train", "val", "all"} else fonts.split(",")
    try:
        renderer = LineRenderer(preset=preset.value, charset=charset, fonts=font_spec, height=height, seed=seed)
        with _crop_writer(fmt, out, shard_size) as writer, _progress() as progress:
            task = progress.add_task(f"lines ({preset.value})", total=count)
            for sample in iter_generate(renderer, count, seed=seed, workers=workers):
                writer.add(sample)
                progress.advance(task)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(f"wrote {count} crops to {out} ({fmt.value})")


@app.command()
def pages(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many pages.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    kind: Annotated[PageKind, typer.Option(help="What kind of page.")] = PageKind.mixed,
    fonts: Annotated[str, typer.Option(help="train, val, all, or comma-separated font files/families.")] = "train",
    seed: Annotated[int, typer.Option(help="Run seed: page i is the same for any --workers.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes.")] = 1,
) -> None:
    """Render annotated pages (word boxes, polygons and line ids) as a manifest.

    scene_photo draws on the installed wallpapers (make scene-deps; or TEXTLENS_BACKGROUNDS folders), checked
    for text once and cached.
    """
    from textlens.data.manifest import ManifestWriter
    from textlens.data.synth import iter_generate
    from textlens.data.synth.pages import PageRenderer

    font_spec: str | list[str] = fonts if fonts in {"train", "val", "all"} else fonts.split(",")
    try:
        renderer = PageRenderer(kind=kind.value, seed=seed, fonts=font_spec)
        with ManifestWriter(out) as writer, _progress() as progress:
            task = progress.add_task(f"pages ({kind.value})", total=count)
            for sample in iter_generate(renderer, count, seed=seed, workers=workers):
                writer.add(sample)
                progress.advance(task)
    except TextlensError as exc:
        raise fail(exc, console) from exc
    console.print(f"wrote {count} pages to {out / 'manifest.jsonl'}")
