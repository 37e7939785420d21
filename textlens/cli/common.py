"""What every batch command shares: input expansion, output naming, the batch runner and exit codes."""

from __future__ import annotations

import glob
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from textlens.errors import ConfigError, TextlensError
from textlens.io.atomic import STDOUT, is_temporary

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

    Hidden files and folders inside a given folder are skipped, and so are textlens's own temporary
    files anywhere (a run killed mid-write leaves ``.textlens-*.tmp*``; they are never inputs). A path
    that matches nothing is kept as is, so the batch reports it as missing instead of silently skipping it.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if _is_input_file(p, path))
            # An empty folder stays in the list so the batch reports it rather than doing nothing.
            found.extend(inside or [path])
        elif glob.has_magic(item):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if not is_temporary(m))
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


def _is_input_file(path: Path, root: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
    return not hidden and path.suffix.lower() in INPUT_EXTENSIONS and path.is_file()


def output_is_folder(output: str | None, inputs: int, formats: int) -> bool:
    """Whether ``-o`` names a folder: it exists as one, ends in a separator, or must hold several files."""
    if output is None or output == STDOUT:
        return False
    return inputs > 1 or formats > 1 or output.endswith(("/", os.sep)) or Path(output).is_dir()


def common_root(items: Sequence[Path]) -> Path:
    """The deepest folder holding every input: outputs mirror the inputs' folders below it."""
    parents = [os.path.dirname(os.path.abspath(p)) for p in items]
    return Path(os.path.commonpath(parents)) if parents else Path.cwd()


def shared_stems(items: Sequence[Path]) -> frozenset[str]:
    """The inputs (absolute paths) that share their folder and stem with another input (``x.png``, ``x.jpg``):
    their outputs keep the input's extension (``x.png.txt``, ``x.jpg.txt``) so they cannot overwrite each other."""
    by_stem: dict[tuple[str, str], list[str]] = {}
    for item in items:
        absolute = os.path.abspath(item)
        by_stem.setdefault((os.path.dirname(absolute), Path(absolute).stem), []).append(absolute)
    return frozenset(p for group in by_stem.values() if len(group) > 1 for p in group)


def output_path(
    source: Path,
    output: Path | None,
    extension: str,
    as_folder: bool,
    suffix: str = "",
    root: Path | None = None,
    full_names: frozenset[str] = frozenset(),
) -> Path | None:
    """Where the result for ``source`` goes: None means standard output.

    ``-o`` names a file for a single input and format (``-`` is standard output), or a folder that receives
    ``<folder>/<stem><suffix><extension>`` per input, where ``<folder>`` is the input's folder relative to
    ``root`` (the inputs' common folder, see ``common_root``): two inputs of the same name in different
    folders never meet. Inputs listed in ``full_names`` (see ``shared_stems``) keep their whole file name
    in place of the stem.
    """
    if output is None:
        return None
    if not as_folder:
        return output
    absolute = os.path.abspath(source)
    below = Path(os.path.relpath(os.path.dirname(absolute), root)) if root is not None else Path()
    name = source.name if absolute in full_names else source.stem
    return output / below / f"{name}{suffix}{extension}"


def check_output_plan(targets: Iterable[tuple[Path, Path]], inputs: Sequence[Path]) -> None:
    """Refuse, before anything is read, a run where two inputs would write one file or an output would
    replace an input: a ``ConfigError`` (usage error, exit 2) naming the files."""
    from textlens.io.write.stream import Protected

    protected = Protected.of(list(inputs))
    claimed: dict[str, Path] = {}
    for source, target in targets:
        if str(target) == STDOUT:
            continue
        if protected.holds(target):
            raise ConfigError(f"{target}: the output would replace an input of this run; choose another -o")
        key = os.path.realpath(target)
        other = claimed.setdefault(key, source)
        if other != source:
            raise ConfigError(f"{other} and {source} would both be written to {target}; rename one or read them apart")


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
    if isinstance(exc, MemoryError) or "Insufficient memory" in str(exc):
        return f"{item}: ran out of memory reading it (lower --max-pixels, or give the process more memory)"
    return f"{item}: {type(exc).__name__}: {exc}"


def _run_in_workers(
    items: Sequence[Path],
    work: Callable[[Path], T],
    jobs: int,
    finish: Callable[[Path, T | None, BaseException | None], None],
    advance: Callable[[], None],
) -> None:
    """Run ``work`` over ``items`` in ``jobs`` processes (pebble's pool: a worker that dies fails its own
    input only, and is replaced). Ctrl-C stops every worker at once."""
    from pebble import ProcessExpired, ProcessPool

    pool = ProcessPool(max_workers=jobs)
    try:
        futures = {pool.schedule(work, args=(item,)): item for item in items}
        for future in as_completed(futures):
            item = futures[future]
            try:
                result, exc = future.result(), None
            except ProcessExpired as err:  # before OSError: pebble derives it from OSError
                result, exc = None, WorkerDied(_death(err.exitcode), source=item)
            except Exception as err:  # one input's failure, whatever it is, must not end the batch
                result, exc = None, err
            finish(item, result, exc)
            advance()
    except BaseException:
        pool.stop()
        raise
    finally:
        pool.close()
        pool.join()


class WorkerDied(TextlensError):
    """The worker process reading an input ended without an answer (killed, or crashed in native code)."""


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process reading it was killed ({name}); nothing was written for it"
    return f"the worker process reading it died (exit code {exitcode}); nothing was written for it"


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
    from textlens.cli.logs import quiet

    report = BatchReport()
    show = len(items) > 1 and console.is_terminal and not quiet()  # -q: no bar
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
                except Exception as err:  # one input's failure, whatever it is, must not end the batch
                    result, exc = None, err
                finish(item, result, exc)
                progress.advance(task)
        else:
            _run_in_workers(items, work, jobs, finish, lambda: progress.advance(task))
    if (len(items) > 1 or report.failed) and not quiet():  # -q: the error lines alone
        colour = "red" if report.failed else "green"
        console.print(f"[{colour}]{len(report.done)} done, {len(report.failed)} failed[/{colour}]")
    return report
