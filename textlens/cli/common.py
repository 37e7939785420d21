"""What every batch command shares: input expansion, output naming, the batch runner and exit codes."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from textlens.errors import ConfigError, TextlensError

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
INPUT_EXTENSIONS = {
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".gif",
    ".pdf",
    ".jp2",
    ".pbm",
    ".pgm",
    ".ppm",
}

console = Console(stderr=True, highlight=False)


def exit_code_for(exc: TextlensError) -> int:
    """One convention for every command: a bad option or setting is a usage error (2); unreadable data, a missing
    or mismatched model and an unwritable output are failures (1)."""
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_SOME_FAILED


def fail(exc: TextlensError, to: Console | None = None) -> typer.Exit:
    """Print ``exc`` as one red line on stderr and return the exit that matches it (raise the result)."""
    (to or console).print(f"[red]error[/red] {escape(str(exc))}", soft_wrap=True)
    return typer.Exit(exit_code_for(exc))


SecondLookOpt = Annotated[
    float | None,
    typer.Option(
        "--second-look-below",
        min=0.0,
        help="Re-read crops read with a lower confidence, inverted and padded, keeping the most confident "
        "reading (0: off; default: the recogniser's, 0.9).",
    ),
]


def second_look_option(below: float | None) -> dict[str, Any]:
    """The recogniser keyword for ``--second-look-below``: none when not given, off at 0."""
    if below is None:
        return {}
    return {"second_look_below": below if below > 0 else None}


T = TypeVar("T")


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Files as given, globs expanded, folders searched recursively for supported files (sorted).

    A path that matches nothing is kept as is, so the batch reports it as missing instead of
    silently skipping it.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in INPUT_EXTENSIONS and p.is_file())
            # An empty folder stays in the list so the batch reports it rather than doing nothing.
            found.extend(inside or [path])
        elif glob.has_magic(item):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            found.extend(matches if matches else [path])
        else:
            found.append(path)
    unique: list[Path] = []
    seen: set[str] = set()
    for p in found:
        if str(p) not in seen:
            seen.add(str(p))
            unique.append(p)
    return unique


def output_is_folder(output: str | None, inputs: int, formats: int) -> bool:
    """Whether ``-o`` names a folder: it exists as one, ends in a separator, or must hold several files."""
    if output is None:
        return False
    return inputs > 1 or formats > 1 or output.endswith(("/", os.sep)) or Path(output).is_dir()


def output_path(source: Path, output: Path | None, extension: str, as_folder: bool, suffix: str = "") -> Path | None:
    """Where the result for ``source`` goes: None means standard output.

    ``-o`` names a file for a single input and format, or a folder that receives
    ``<stem><suffix><extension>`` per input (see ``output_is_folder``).
    """
    if output is None:
        return None
    if as_folder:
        return output / f"{source.stem}{suffix}{extension}"
    return output


@dataclass
class BatchReport:
    """Outcome of a batch: which inputs succeeded, which failed and why."""

    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed else EXIT_OK


def _describe(exc: BaseException, item: Path) -> str:
    if isinstance(exc, TextlensError):
        return str(exc) if exc.source else f"{item}: {exc}"
    return f"{item}: {type(exc).__name__}: {exc}"


def run_batch(
    items: Sequence[Path],
    work: Callable[[Path], T],
    jobs: int = 1,
    on_result: Callable[[Path, T], None] | None = None,
    label: str = "reading",
) -> BatchReport:
    """Run ``work`` on every item, going on past failures; a progress bar shows for more than one item.

    With ``jobs > 1`` items run in worker processes (``work`` must then be picklable, e.g. a
    module-level function or a functools.partial of one). ``on_result`` runs in this process.
    """
    report = BatchReport()
    show = len(items) > 1 and console.is_terminal
    progress = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not show,
    )

    def finish(item: Path, result: T | None, exc: BaseException | None) -> None:
        if exc is not None:
            message = _describe(exc, item)
            report.failed.append((str(item), message))
            progress.console.print(f"[red]error[/red] {escape(message)}", soft_wrap=True)
            return
        try:
            if on_result is not None:
                on_result(item, result)  # type: ignore[arg-type]
            report.done.append(str(item))
        except TextlensError as err:
            report.failed.append((str(item), _describe(err, item)))
            progress.console.print(f"[red]error[/red] {escape(_describe(err, item))}", soft_wrap=True)

    with progress:
        task = progress.add_task(label, total=len(items))
        if jobs <= 1 or len(items) <= 1:
            for item in items:
                try:
                    result, exc = work(item), None
                except (TextlensError, OSError, ValueError) as err:
                    result, exc = None, err
                finish(item, result, exc)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(work, item): item for item in items}
                for future in as_completed(futures):
                    item = futures[future]
                    try:
                        result, exc = future.result(), None
                    except (TextlensError, OSError, ValueError) as err:
                        result, exc = None, err
                    finish(item, result, exc)
                    progress.advance(task)
    if len(items) > 1 or report.failed:
        colour = "red" if report.failed else "green"
        console.print(f"[{colour}]{len(report.done)} done, {len(report.failed)} failed[/{colour}]")
    return report
