"""``textlens extract``: structured fields from images and PDFs (receipts, forms, cards, plates), and training of
the extractors."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from textlens.cli.common import (
    EXIT_USAGE,
    check_output_plan,
    common_root,
    console,
    expand_inputs,
    fail,
    output_is_folder,
    output_path,
    run_batch,
    shared_stems,
)
from textlens.errors import ConfigError, TextlensError
from textlens.io.atomic import STDOUT, atomic_write_text, remove_stale_temporaries

app = typer.Typer(
    help="Structured fields from documents: `textlens extract receipt IMAGES -o out/` (docs/extraction.md).",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class ExtractOptions:
    """What a worker needs to read and extract one input (picklable for --jobs)."""

    task: str
    output: Path | None
    to_folder: bool
    model: str | None = None
    threads: int | None = None
    root: Path | None = None
    full_names: frozenset[str] = frozenset()


_CACHE: dict[tuple[Any, ...], Any] = {}


def _engines(options: ExtractOptions) -> tuple[Any, Any]:
    """The OCR engine and the extractor, built once per process."""
    key = (options.task, options.model, options.threads)
    if key not in _CACHE:
        from textlens.extract import get_extractor
        from textlens.pipeline import OCR

        extra = {"model": options.model} if options.model else {}
        _CACHE[key] = (OCR(threads=options.threads), get_extractor(options.task, **extra))
    return _CACHE[key]


def target_of(path: Path, options: ExtractOptions) -> Path | None:
    return output_path(path, options.output, ".json", options.to_folder, root=options.root,
                       full_names=options.full_names)  # fmt: skip


def extract_one(path: Path, options: ExtractOptions) -> str | None:
    """Read one input, extract its fields and write them; the JSON text when it goes to standard output."""
    ocr, extractor = _engines(options)
    started = time.perf_counter()
    document = ocr.read(path)
    read_s = time.perf_counter() - started
    result = extractor.extract(document)
    data = result.to_dict()
    data["source"] = str(path)
    data["metadata"] = {**data["metadata"], "read_s": round(read_s, 3),
                        "extract_s": round(time.perf_counter() - started - read_s, 4)}  # fmt: skip
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    target = target_of(path, options)
    if target is None or str(target) == STDOUT:
        return text
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    return None


def run_task(task: str, inputs: list[str], output: str | None, model: str | None, threads: int | None,
             jobs: int, work: Callable[..., str | None] | None = None) -> None:  # fmt: skip
    """Extract ``task`` from each input; ``work(path, options)`` replaces ``extract_one`` (and its engines) for
    tasks that read the pixels themselves (plates)."""
    try:
        from textlens.extract import list_tasks

        if work is None and task not in list_tasks():
            raise ConfigError(f"unknown extraction task {task!r} (one of {', '.join(list_tasks())})")
        items = expand_inputs(inputs)
        to_folder = output_is_folder(output, len(items), 1)
        options = ExtractOptions(
            task=task,
            output=None if output is None else Path(output),
            to_folder=to_folder,
            model=model,
            threads=threads,
            root=common_root(items) if to_folder else None,
            full_names=shared_stems(items),
        )
        planned = [(item, t) for item in items if (t := target_of(item, options)) is not None]
        check_output_plan(planned, items)
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    for folder in {t.parent for _, t in planned if str(t) != STDOUT and t.parent.is_dir()}:
        remove_stale_temporaries(folder)
    try:
        if work is None:
            _engines(options)  # fail once, clearly, when a model cannot be loaded
        else:
            _plate_reader(options)
    except TextlensError as exc:
        raise fail(exc) from exc

    def emit(item: Path, text: str | None) -> None:
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()

    report = run_batch(items, functools.partial(work or extract_one, options=options), jobs=jobs, on_result=emit,
                       label="extracting")  # fmt: skip
    raise typer.Exit(report.exit_code)


InputsArg = Annotated[list[str], typer.Argument(help="Images, PDFs, folders or globs.")]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="A .json file (one input), a folder (one <name>.json each), or - (stdout)."),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="The extractor's bundle folder (default: bundled).")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="Inference threads (default: all).")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Inputs read in parallel processes.")]


@app.command()
def receipt(
    inputs: InputsArg,
    output: OutputOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    jobs: JobsOpt = 1,
) -> None:
    """Receipts → company, date (ISO 8601), address, total (decimal), currency: JSON per input, each field with
    value, the string as printed, confidence and word boxes."""
    run_task("receipt", inputs, output, model, threads, jobs)


@app.command()
def form(
    inputs: InputsArg,
    output: OutputOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    jobs: JobsOpt = 1,
) -> None:
    """Forms → entities (question / answer / header / other) and question→answer links: JSON per input, the
    key-value pairs as fields (key: the question's text), entities and links in metadata."""
    run_task("form", inputs, output, model, threads, jobs)


def _read_records(manifest: Path) -> list[dict[str, Any]]:
    from textlens.extract.base import read_labelled_records

    return read_labelled_records(
        manifest,
        lambda r: "image" in r and isinstance(r.get("key"), dict),
        "a record needs 'image' and a 'key' object of fields",
    )


def parse_range(value: str, size: int) -> range:
    """``A:B`` (Python slice bounds, either may be empty) → the record indices."""
    try:
        a, _, b = value.partition(":")
        return range(*slice(int(a) if a else None, int(b) if b else None).indices(size))
    except ValueError as exc:
        raise ConfigError(f"a range is START:END (got {value!r})") from exc


@app.command()
def train(
    manifest: Annotated[Path, typer.Option("--manifest", "-m", help="JSONL with image and key (fields) per record.")],
    out: Annotated[Path, typer.Option("--out", help="The bundle folder to write (config.json, weights.npz).")],
    task: Annotated[str, typer.Option("--task", help="The extraction task (receipt, form).")] = "receipt",
    cache: Annotated[Path, typer.Option("--cache", help="OCR results cached here.")] = Path("runs/extract_receipt/ocr"),
    train_part: Annotated[str, typer.Option("--train", help="Records to train on, START:END.")] = "0:120",
    val_part: Annotated[str, typer.Option("--val", help="Records to validate on, START:END.")] = "120:150",
    l2: Annotated[float, typer.Option("--l2", min=0.0, help="L2 penalty.")] = 0.03,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Gradient steps.")] = 300,
) -> None:
    """Train an extractor from read documents and their labelled fields (numpy, seconds on a CPU); prints the
    validation scores as JSON."""
    if task == "form":
        _train_form(manifest, out, train_part, val_part, l2, steps)
        return
    if task != "receipt":
        console.print(f"[red]usage error[/red] only the receipt and form tasks are trained so far (got {escape(task)})")
        raise typer.Exit(EXIT_USAGE)
    from textlens.extract.receipt import ReceiptExtractor
    from textlens.extract.train import cache_documents, evaluate_extractor, train_receipt, write_bundle

    try:
        started = time.perf_counter()
        records = _read_records(manifest)
        fit, val = parse_range(train_part, len(records)), parse_range(val_part, len(records))
        if set(fit) & set(val):
            raise ConfigError("the training and validation parts overlap")
        docs = cache_documents(records, manifest.parent, cache)
        keys = [r["key"] for r in records]
        read_s = time.perf_counter() - started
        trained = train_receipt([docs[i] for i in fit], [keys[i] for i in fit], l2=l2, steps=steps)
        fit_s = time.perf_counter() - started - read_s
        config = {"train": {"manifest": manifest.name, "records": f"{fit.start}:{fit.stop}",
                            "val": f"{val.start}:{val.stop}", "l2": l2, "steps": steps}}  # fmt: skip
        write_bundle(out, trained, config)
        extractor = ReceiptExtractor(out)
        result = {
            "train": evaluate_extractor(extractor, [docs[i] for i in fit], [keys[i] for i in fit]),
            "val": evaluate_extractor(extractor, [docs[i] for i in val], [keys[i] for i in val]) if val else None,
            "ocr_s": round(read_s, 2),
            "fit_s": round(fit_s, 2),
        }
    except TextlensError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps(result, indent=2))


def _train_form(manifest: Path, out: Path, train_part: str, val_part: str, l2: float, steps: int) -> None:
    """The form extractor from labelled words (FUNSD-style records: words with entity_id and label, entities
    with linking); scores on the labelled words of the validation part."""
    from textlens.extract.form import FormExtractor
    from textlens.extract.form_train import (
        choose_thresholds,
        evaluate_form,
        labelled_page,
        read_form_records,
        train_form,
        write_form_bundle,
    )

    try:
        started = time.perf_counter()
        records = read_form_records(manifest)
        fit, val = parse_range(train_part, len(records)), parse_range(val_part, len(records))
        if set(fit) & set(val):
            raise ConfigError("the training and validation parts overlap")
        pages = [labelled_page(r, manifest.parent) for r in records]
        trained = train_form([pages[i] for i in fit], l2=l2, steps=steps)
        fit_s = time.perf_counter() - started
        config = {"train": {"manifest": manifest.name, "records": f"{fit.start}:{fit.stop}",
                            "val": f"{val.start}:{val.stop}", "l2": l2, "steps": steps}}  # fmt: skip
        write_form_bundle(out, trained, config)
        thresholds = choose_thresholds(out, [pages[i] for i in fit])
        extractor = FormExtractor(out)
        result = {
            "train": evaluate_form(extractor, [pages[i] for i in fit]),
            "val": evaluate_form(extractor, [pages[i] for i in val]) if val else None,
            "fit_s": round(fit_s, 2),
            "thresholds": thresholds,
        }
    except TextlensError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps(result, indent=2))


def _plate_reader(options: ExtractOptions) -> Any:
    """The plate reader, built once per process (``options.model`` carries the regions, comma-separated)."""
    key = ("plate", options.model, options.threads)
    if key not in _CACHE:
        from textlens.extract.plate import PlateReader

        regions = [r for r in (options.model or "").split(",") if r] or None
        _CACHE[key] = PlateReader(regions=regions, threads=options.threads)
    return _CACHE[key]


def plate_one(path: Path, options: ExtractOptions) -> str | None:
    """Find and read the plates of each page of one input and write them (JSON); the text when it goes to
    standard output."""
    from textlens.io import iter_pages

    reader = _plate_reader(options)
    pages, started = [], time.perf_counter()
    for page in iter_pages(path):
        found = reader.read(page.image)
        pages.append({"index": page.index, "width": int(page.image.shape[1]), "height": int(page.image.shape[0]),
                      "plates": [r.to_dict() for r in found]})  # fmt: skip
    data = {
        "schema": 1,
        "task": "plate",
        "source": str(path),
        "plates": [dict(p, page=page["index"]) for page in pages for p in page["plates"]],
        "pages": pages,
        "metadata": {"plate_s": round(time.perf_counter() - started, 3)},
    }
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    target = target_of(path, options)
    if target is None or str(target) == STDOUT:
        return text
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    return None


@app.command()
def plate(
    inputs: InputsArg,
    output: OutputOpt = None,
    regions: Annotated[
        str | None,
        typer.Option("--regions", help="Only these regions' formats, comma-separated (GB,DE,FR,NL,IT,ES,PL,US,IN)."),
    ] = None,
    threads: ThreadsOpt = None,
    jobs: JobsOpt = 1,
) -> None:
    """Licence plates in photos → per plate: plate (as printed), compact, region, format, box, confidence
    (JSON per input; docs/extraction.md, Plates)."""
    if regions is not None:
        from textlens.extract.plate_formats import formats_of

        wanted = [r.strip().upper() for r in regions.split(",") if r.strip()]
        if not wanted or not formats_of(wanted):
            console.print(f"[red]usage error[/red] no plate formats for --regions {escape(regions)}")
            raise typer.Exit(EXIT_USAGE)
        regions = ",".join(wanted)
    run_task("plate", inputs, output, regions, threads, jobs, work=plate_one)


def _register_card() -> None:
    """`extract card` lives in textlens/cli/extract_card.py (vCard and CSV outputs)."""
    from textlens.cli.extract_card import card

    app.command("card")(card)


_register_card()
