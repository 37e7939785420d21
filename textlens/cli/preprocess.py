"""``textlens preprocess``: deskew, clean and binarise page images, writing one PNG per page (registered as a
command in :mod:`textlens.cli.app`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from rich.markup import escape

from textlens.cli.common import check_output_plan, console, expand_inputs, run_batch
from textlens.errors import ConfigError, OutputError
from textlens.io import DEFAULT_DPI, PageImage, atomic_write_bytes, iter_pages
from textlens.io.write.stream import Protected
from textlens.preprocess import AppliedStep, Compose, from_options


class Binarization(str, Enum):
    """Binarisation methods offered on the command line."""

    otsu = "otsu"
    sauvola = "sauvola"
    adaptive = "adaptive"


@dataclass(frozen=True)
class PageOutcome:
    """One written page and what was done to it."""

    path: Path
    page: int
    applied: tuple[AppliedStep, ...]


def describe(step: AppliedStep) -> str:
    """Short phrase for the report, e.g. 'deskewed by -3.20°'."""
    p = step.params
    if step.name == "deskew":
        if not p["rotated"]:
            return f"no skew to fix ({p['angle']:+.2f}°)"
        return f"deskewed by {p['angle']:+.2f}°"
    if step.name == "crop":
        return f"cropped to {p['size'][0]}×{p['size'][1]} at {p['offset']}"
    if step.name == "rescale":
        if p["text_height"] is None:
            return "not rescaled (no text found)"
        return f"scaled ×{p['scale']:.3f} (text height was {p['text_height']:.1f} px)"
    if step.name == "binarize":
        return f"binarised ({p['method']})"
    if step.name == "denoise":
        return f"denoised ({p['method']})"
    return {"grayscale": "converted to gray", "clahe": "contrast-equalised (CLAHE)"}.get(step.name, step.describe())


def encode_png(image: np.ndarray, source: str) -> bytes:
    """PNG bytes of a gray or RGB image."""
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", pixels)
    if not ok:
        raise OutputError("cannot encode the page as PNG", source=source)
    return buf.tobytes()


def unique_stems(paths: list[Path]) -> dict[Path, str]:
    """Output stem per input; repeated stems (same name in different folders) get -2, -3, ..."""
    used: set[str] = set()
    stems: dict[Path, str] = {}
    for path in paths:
        stem, n = path.stem, 1
        while stem in used:
            n += 1
            stem = f"{path.stem}-{n}"
        used.add(stem)
        stems[path] = stem
    return stems


def _pages_and_multi(source: Path, dpi: int) -> tuple[Iterator[PageImage], bool]:
    """Stream pages and tell whether there is more than one, without loading them all."""
    pages = iter_pages(source, dpi=dpi)
    head = list(itertools.islice(pages, 2))
    return itertools.chain(head, pages), len(head) > 1


@dataclass(frozen=True)
class _Job:
    pipeline: Compose
    output: Path
    as_folder: bool
    stems: dict[Path, str]
    dpi: int
    protected: Protected

    def target(self, source: Path, page: int, multi: bool) -> Path:
        suffix = f"-p{page}" if multi else ""
        if self.as_folder:
            return self.output / f"{self.stems[source]}{suffix}.png"
        return self.output.with_name(f"{self.output.stem}{suffix}.png")

    def __call__(self, source: Path) -> list[PageOutcome]:
        pages, multi = _pages_and_multi(source, self.dpi)
        outcomes = []
        for page in pages:
            result = self.pipeline(page.image)
            path = self.target(source, page.index + 1, multi)
            if self.protected.holds(path):
                raise OutputError("refusing to write over an input of this run (choose another -o)", source=path)
            atomic_write_bytes(path, encode_png(result.image, str(source)))
            outcomes.append(PageOutcome(path, page.index + 1, result.applied))
        return outcomes


def _report(source: Path, outcomes: list[PageOutcome]) -> None:
    for o in outcomes:
        done = ", ".join(describe(s) for s in o.applied) or "copied unchanged"
        page = f" p{o.page}" if len(outcomes) > 1 else ""
        console.print(f"[green]✓[/green] {source}{page} → {o.path}: {done}")


def _output_mode(output: Path, count: int) -> bool:
    """True when -o is a folder: it exists as one, has no extension, or several inputs were given."""
    if output.is_dir() or count > 1 or output.suffix == "":
        if output.exists() and not output.is_dir():
            raise typer.BadParameter(f"{output} is a file; several inputs need a folder", param_hint="-o")
        return True
    if output.suffix.lower() != ".png":
        raise typer.BadParameter(f"{output}: output must be a .png file or a folder", param_hint="-o")
    return False


def preprocess(
    inputs: Annotated[list[str], typer.Argument(help="Images, PDFs, folders or globs.", show_default=False)],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="A .png file (one input) or a folder: <stem>[-p<N>].png.")
    ],
    deskew: Annotated[bool, typer.Option(help="Estimate the skew (±15°) and rotate it away.")] = True,
    binarize: Annotated[Binarization | None, typer.Option(help="Binarise the result (text black on white).")] = None,
    denoise: Annotated[bool, typer.Option(help="Non-local-means denoising.")] = False,
    clahe: Annotated[bool, typer.Option(help="CLAHE contrast normalisation.")] = False,
    grayscale: Annotated[bool, typer.Option(help="Convert to gray.")] = False,
    crop: Annotated[bool, typer.Option(help="Crop the margins to the text (plus padding).")] = False,
    text_height: Annotated[
        int | None, typer.Option(min=4, help="Rescale so the typical x-height becomes this many pixels.")
    ] = None,
    dpi: Annotated[int, typer.Option(min=10, max=1200, help="Resolution to render PDF pages at.")] = int(DEFAULT_DPI),
) -> None:
    """Preprocess page images: deskew, denoise, equalise, crop, rescale and binarise; write PNGs."""
    sources = expand_inputs(inputs)
    as_folder = _output_mode(output, len(sources))
    pipeline = from_options(
        deskew=deskew,
        binarize=None if binarize is None else binarize.value,
        denoise=denoise,
        clahe=clahe,
        grayscale=grayscale,
        crop=crop,
        target_height=text_height,
    )
    if as_folder:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            console.print(f"[red]error[/red] {output}: cannot create the folder: {e.strerror or e}")
            raise typer.Exit(1) from e
    job = _Job(pipeline, output, as_folder, unique_stems(sources), dpi, Protected.of(sources))
    planned = [(source, job.target(source, 1, multi)) for source in sources for multi in (False, True)]
    try:
        check_output_plan(planned, sources)
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    report = run_batch(sources, job, on_result=_report, label="preprocessing")
    raise typer.Exit(report.exit_code)
