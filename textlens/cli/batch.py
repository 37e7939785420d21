"""``textlens batch``: OCR many documents into a folder of JSON, on Ray (the ``batch`` extra) or a local process
pool; a rerun skips the documents already written (docs/scaling.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from textlens.cli.common import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, console, fail
from textlens.errors import ConfigError, TextlensError


def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files, folders, globs, manifests (.txt/.lst: a path per line) or fsspec URLs."),
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for documents/, shards/ and runs/.")],
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Ray cluster to run on: an address, auto (the running cluster, or RAY_ADDRESS) or local (start one "
            "here). Default: a local Ray when Ray is installed.",
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Use a local process pool even when Ray is installed.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="OCR workers (Ray actors or processes); default: one per core."),
    ] = None,
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="Documents per JSONL shard (at most).")] = 64,
    lang: Annotated[str | None, typer.Option("--lang", help="Language code, or auto.")] = None,
    domain: Annotated[str, typer.Option("--domain", help="auto, document or scene.")] = "auto",
    threads: Annotated[int, typer.Option("--threads", min=1, help="Inference threads per worker.")] = 1,
) -> None:
    """Read many documents into OUT: documents/<h>/<sha256>.json each, shards/part-*.jsonl, runs/<run>.json (the
    summary). Documents already in OUT (same content) are skipped; a bad file is reported and the batch goes on."""
    from textlens.batch.run import run_batch
    from textlens.batch.work import BatchOptions
    from textlens.cli.logs import quiet

    if local and ray is not None:
        console.print("[red]usage error[/red] --local and --ray exclude each other")
        raise typer.Exit(EXIT_USAGE)
    if domain not in ("auto", "document", "scene"):
        console.print(f"[red]usage error[/red] --domain {escape(domain)!r}: one of auto, document, scene")
        raise typer.Exit(EXIT_USAGE)
    engine = "local" if local else ("ray" if ray is not None else "auto")
    options = BatchOptions(out=out, lang=lang, domain=domain, threads=threads, shard_size=shard_size)
    progress = Progress(
        TextColumn("[bold]reading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal or quiet(),
    )
    task = progress.add_task("reading", total=None)

    def advance(row: dict[str, Any]) -> None:
        if row["status"] == "failed":
            progress.console.print(f"[red]error[/red] {escape(row['message'])}", soft_wrap=True)
        progress.advance(task)

    try:
        with progress:
            summary = run_batch(
                inputs,
                options,
                workers=workers,
                engine=engine,
                address=ray,
                advance=advance,
                on_listed=lambda n: progress.update(task, total=n),
            )
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    except TextlensError as exc:
        raise fail(exc) from exc
    if not quiet():
        colour = "red" if summary.failed else "green"
        rate = summary.to_dict()["pages_per_s"]
        console.print(
            f"[{colour}]{summary.done} read, {summary.skipped} skipped (already done), {summary.failed} failed"
            f"[/{colour}]: {summary.pages} pages in {summary.seconds:.1f} s ({rate} pages/s) on {summary.engine} with "
            f"{summary.workers} workers; summary in {escape(out)}/runs/{summary.run}.json",
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_SOME_FAILED if summary.failed else EXIT_OK)
