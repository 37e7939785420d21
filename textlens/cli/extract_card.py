"""``textlens extract card``: business cards → contacts, as one vCard 4.0 file or a CSV (``-o contacts.vcf`` /
``-o contacts.csv``) or JSON per card like the other tasks (docs/extraction.md, Cards)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from textlens.cli.common import EXIT_USAGE, console, expand_inputs, fail, run_batch
from textlens.cli.extract import InputsArg, JobsOpt, ThreadsOpt, run_task
from textlens.errors import ConfigError, TextlensError

_ENGINES: dict[tuple[Any, ...], Any] = {}


def _card_one(path: Path, region: str | None, threads: int | None) -> dict[str, Any]:
    """Read one card and extract its contact (a dict, picklable for --jobs)."""
    key = (region, threads)
    if key not in _ENGINES:
        from textlens.extract.card import CardExtractor
        from textlens.pipeline import OCR

        _ENGINES[key] = (OCR(threads=threads), CardExtractor(region=region))
    ocr, extractor = _ENGINES[key]
    data = extractor.extract(ocr.read(path)).to_dict()
    data["source"] = str(path)
    return data


def card(
    inputs: InputsArg,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="contacts.vcf (one vCard 4.0 per card), contacts.csv (a row per card), a .json file (one "
            "input), a folder (one <name>.json each), or - (stdout, JSON).",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region of national phone numbers (DE, GB, US …) when the card does not say."),
    ] = None,
    threads: ThreadsOpt = None,
    jobs: JobsOpt = 1,
) -> None:
    """Business cards → name, title, organization, phones (E.164, national form, type), e-mails, URLs, address:
    a vCard file, a CSV, or JSON per card."""
    if region is not None and (len(region) != 2 or not region.isalpha()):
        console.print(f"[red]usage error[/red] --region is a two-letter region code (got {escape(region)})")
        raise typer.Exit(EXIT_USAGE)
    suffix = Path(output).suffix.lower() if output not in (None, "-") else ""
    if suffix not in (".vcf", ".csv"):
        run_task("card", inputs, output, f"region:{region.upper()}" if region else None, threads, jobs)
        return
    try:
        items = expand_inputs(inputs)
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    try:
        import phonenumbers  # noqa: F401

        if suffix == ".vcf":
            import vobject  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise fail(ConfigError("card output needs the extract extra: pip install 'textlens[extract]'")) from exc
    results: dict[str, dict[str, Any]] = {}

    def keep(item: Path, data: dict[str, Any]) -> None:
        results[str(item)] = data

    work = functools.partial(_card_one, region=region, threads=threads)
    report = run_batch(items, work, jobs=jobs, on_result=keep, label="extracting")
    from textlens.extract.base import Extraction
    from textlens.extract.card import write_csv, write_vcards
    from textlens.io.atomic import atomic_write_text

    ordered = [Extraction.from_dict(results[str(i)]) for i in items if str(i) in results]
    text = write_vcards(ordered) if suffix == ".vcf" else write_csv(ordered)
    try:
        target = Path(output)  # type: ignore[arg-type]
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, text)
    except (OSError, TextlensError) as exc:
        raise fail(exc) from exc
    raise typer.Exit(report.exit_code)
