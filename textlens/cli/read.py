"""``textlens read``: OCR images and PDFs into text, JSON, hOCR, ALTO, TSV, searchable PDF or overlays."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from textlens.cli.common import EXIT_USAGE, console, expand_inputs, fail, output_is_folder, output_path, run_batch
from textlens.errors import ConfigError, TextlensError

BINARY_FORMATS = {"pdf", "overlay"}


@dataclass(frozen=True)
class ReadOptions:
    """Everything a worker needs to read and write one input (picklable for --jobs)."""

    formats: tuple[str, ...]
    output: Path | None
    to_folder: bool
    detector: str | None = None
    recognizer: str | None = None
    deskew: bool = False
    binarize: str | None = None
    denoise: bool = False
    dpi: int = 200
    max_pixels: int | None = None
    threads: int | None = None
    min_confidence: float = 0.6  # textlens.pipeline.DEFAULT_MIN_CONFIDENCE (not imported: OpenCV loads lazily)
    orientation: bool = True
    second_look_below: float | None = None


_OCR_CACHE: dict[tuple[Any, ...], Any] = {}


def build_ocr(options: ReadOptions) -> Any:
    """The OCR engine for these options, built once per process (model loading is the slow part)."""
    key = (
        options.detector,
        options.recognizer,
        options.deskew,
        options.binarize,
        options.denoise,
        options.dpi,
        options.max_pixels,
        options.threads,
        options.min_confidence,
        options.orientation,
        options.second_look_below,
    )
    if key not in _OCR_CACHE:
        from textlens.pipeline import OCR

        preprocess = None
        if options.deskew or options.binarize or options.denoise:
            from textlens.preprocess import from_options

            preprocess = from_options(deskew=options.deskew, binarize=options.binarize, denoise=options.denoise)
        _OCR_CACHE[key] = OCR(
            detector=options.detector,
            recognizer=options.recognizer,
            preprocess=preprocess,
            threads=options.threads,
            dpi=options.dpi,
            max_pixels=options.max_pixels,
            min_confidence=options.min_confidence,
            orientation=options.orientation,
            second_look_below=options.second_look_below,
        )
    return _OCR_CACHE[key]


def read_one(path: Path, options: ReadOptions) -> str | None:
    """Read one input and write each requested format; return what goes to standard output, if any."""
    from textlens.io import FORMATS, load, render, write_document

    ocr = build_ocr(options)
    load_options: dict[str, Any] = {"dpi": options.dpi}
    if options.max_pixels is not None:
        load_options["max_pixels"] = options.max_pixels
    pages = load(path, **load_options)
    document = ocr.read_pages(pages)
    images = [p.image for p in pages]
    printed: list[str] = []
    for fmt in options.formats:
        extension = FORMATS[fmt][0]
        target = output_path(path, options.output, extension, options.to_folder)
        if target is None:
            printed.append(str(render(document, fmt, images=images)))
        else:
            write_document(document, target, fmt, images=images)
    return "\n".join(printed) if printed else None


def parse_formats(value: str) -> tuple[str, ...]:
    from textlens.io import FORMATS

    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"unknown format {', '.join(unknown) or value!r}; choose from {', '.join(FORMATS)}")
    return formats


def read(
    inputs: Annotated[list[str], typer.Argument(help="Images, PDFs, globs or folders.")],
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Output file (one input, one format) or folder (several, or ending in /)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="text, json, hocr, alto, tsv, pdf or overlay; several separated by commas."
        ),
    ] = "text",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    detector: Annotated[
        str | None,
        typer.Option(
            help="Detection model name or folder (default: the bundled default; morph_lines: the classical "
            "line detector for clean printed documents)."
        ),
    ] = None,
    recognizer: Annotated[str | None, typer.Option(help="Recognition model name or folder.")] = None,
    deskew: Annotated[bool, typer.Option(help="Straighten skewed pages first.")] = False,
    binarize: Annotated[str | None, typer.Option(help="Binarise first: otsu or sauvola.")] = None,
    denoise: Annotated[bool, typer.Option(help="Denoise first.")] = False,
    dpi: Annotated[int, typer.Option(help="Resolution PDF pages are rendered at.")] = 200,
    max_pixels: Annotated[int | None, typer.Option(help="Refuse images with more pixels than this.")] = None,
    threads: Annotated[int | None, typer.Option(help="Inference threads per process.")] = None,
    min_confidence: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Drop regions read with a lower confidence (one- or two-character regions need 0.9; 0 keeps all).",
        ),
    ] = 0.6,
    orientation: Annotated[
        bool, typer.Option(help="Turn sideways and upside-down pages upright before reading.")
    ] = True,
    second_look_below: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Re-read regions read with a lower confidence, inverted and padded, keeping the most confident "
            "reading: helps scene photos, not documents (0: off, the default).",
        ),
    ] = 0.0,
) -> None:
    """Read text from images and PDFs."""
    try:
        formats = parse_formats(fmt)
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    items = expand_inputs(inputs)
    to_folder = output_is_folder(output, len(items), len(formats))
    if output is None and any(f in BINARY_FORMATS for f in formats):
        console.print("[red]usage error[/red] pdf and overlay outputs need -o FILE or -o FOLDER")
        raise typer.Exit(EXIT_USAGE)
    options = ReadOptions(
        formats=formats,
        output=None if output is None else Path(output),
        to_folder=to_folder,
        detector=detector,
        recognizer=recognizer,
        deskew=deskew,
        binarize=binarize,
        denoise=denoise,
        dpi=dpi,
        max_pixels=max_pixels,
        threads=threads,
        min_confidence=min_confidence,
        orientation=orientation,
        second_look_below=second_look_below or None,
    )
    try:
        ocr = build_ocr(options)  # fail once, clearly, when no model can be loaded
    except TextlensError as exc:
        raise fail(exc) from exc
    if getattr(ocr.detector, "name", "") == "morph_lines" and options.detector is None:
        from textlens.runtime.loading import available_models

        trained = available_models("detection")
        console.print(
            "[yellow]note[/yellow] no neural text detector is the default yet: using the classical "
            "line detector, which suits clean printed documents, not photos of scenes"
            + (f" (--detector {trained[0]} tries a bundled one still in training)" if trained else ""),
            soft_wrap=True,
        )

    def emit(item: Path, text: str | None) -> None:
        if text is not None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()

    report = run_batch(items, functools.partial(read_one, options=options), jobs=jobs, on_result=emit)
    raise typer.Exit(report.exit_code)
