"""``textlens read``: OCR images and PDFs into text, JSON, hOCR, ALTO, TSV, searchable PDF or overlays."""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from textlens.cli import settings
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
from textlens.defaults import DEFAULT_MIN_CONFIDENCE
from textlens.errors import ConfigError, TextlensError
from textlens.io.atomic import STDOUT, remove_stale_temporaries
from textlens.io.load import DEFAULT_DPI, DEFAULT_MAX_PAGES, DEFAULT_MAX_PIXELS
from textlens.io.pdf_pages import DEFAULT_PDF_MEMORY_MB, DEFAULT_PDF_TIMEOUT
from textlens.languages import LanguageWarning, parse_lang

BINARY_FORMATS = {"pdf", "overlay"}
STDIN = "-"  # as an input: the bytes of standard input (`cat page.png | textlens read -`)
STDIN_NAME = "<stdin>"  # how errors name it; its outputs in a folder are named stdin.<ext>
STDIN_HEADER = "standard input"  # its ==> <== marker, as head(1) names it
log = logging.getLogger(__name__)


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
    dpi: int = int(DEFAULT_DPI)
    max_pixels: int | None = None
    threads: int | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    orientation: bool = True
    second_look_below: float | None = None
    root: Path | None = None  # the inputs' common folder: outputs mirror the folders below it
    full_names: frozenset[str] = frozenset()  # inputs whose outputs keep the input's extension
    pages: frozenset[int] | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    pdf_timeout: float = DEFAULT_PDF_TIMEOUT
    pdf_memory_mb: int = DEFAULT_PDF_MEMORY_MB
    protected: Any = None  # textlens.io.write.stream.Protected: the inputs, never written over
    page_progress: bool = False  # a line per page of long files on standard error (one process, a terminal)
    lang: str | None = None  # an ISO 639-1 code or "auto" (textlens.languages.parse_lang)
    domain: str = "auto"  # document, scene, or auto: per page (textlens.runtime.domain)
    dehyphenate: bool = True  # text output: words broken by a hyphen at a line's end joined back
    stdin: bytes | None = dataclasses.field(default=None, repr=False)  # the bytes of the input "-", read once


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
        options.lang,
        options.domain,
    )
    if key not in _OCR_CACHE:
        from textlens.pipeline import OCR

        preprocess = None
        if options.deskew or options.binarize or options.denoise:
            from textlens.preprocess import from_options

            preprocess = from_options(deskew=options.deskew, binarize=options.binarize, denoise=options.denoise)
        with warnings.catch_warnings():  # read() prints it once; workers stay quiet
            warnings.simplefilter("ignore", LanguageWarning)
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
                lang=options.lang,
                domain=options.domain,
            )
    return _OCR_CACHE[key]


def targets(path: Path, options: ReadOptions) -> dict[str, Path | None]:
    """Where each requested format of ``path`` goes (None: printed)."""
    from textlens.io import FORMATS

    is_stdin = str(path) == STDIN  # "-" is written as FOLDER/stdin.<ext>, at the top of the output folder
    return {
        fmt: output_path(
            Path("stdin") if is_stdin else path,
            options.output,
            FORMATS[fmt][0],
            options.to_folder,
            root=None if is_stdin else options.root,
            full_names=options.full_names,
        )
        for fmt in options.formats
    }


def read_one(path: Path, options: ReadOptions) -> str | None:
    """Read one input page by page and write each requested format; return what goes to standard output.

    Pages stream: each page is loaded, read, handed to the outputs and let go, so memory stays flat in
    the page count; the outputs appear only when the whole input has been read (see
    :mod:`textlens.io.write.stream`).
    """
    from textlens.io.write.stream import open_output

    ocr = build_ocr(options)
    outputs = [
        open_output(fmt, target, options.protected, dehyphenate=options.dehyphenate)
        for fmt, target in targets(path, options).items()
    ]

    is_stdin = str(path) == STDIN
    name = STDIN_NAME if is_stdin else str(path)
    shown: list[bool] = []

    def on_page(page_image: Any, page: Any) -> None:
        for out in outputs:
            out.add_page(page, page_image.image, page_image.page_count)
        log.debug("%s: page %d of %d, %d words", name, page_image.index + 1, page_image.page_count, len(page.words))
        if options.page_progress and page_image.page_count > 1:
            console.print(escape(f"{name}: page {page_image.index + 1} of {page_image.page_count}"), end="\r")
            shown.append(True)

    try:
        document = ocr.read(
            options.stdin if is_stdin else path,
            pages=options.pages,
            on_page=on_page,
            max_pages=options.max_pages,
            pdf_timeout=options.pdf_timeout,
            pdf_memory_mb=options.pdf_memory_mb,
        )
        printed = [text for out in outputs if (text := out.finish(document)) is not None]
    except BaseException as exc:
        for out in outputs:
            out.abort()
        if is_stdin and isinstance(exc, TextlensError) and exc.source in (None, "<bytes>"):
            exc.source, exc.args = STDIN_NAME, (f"{STDIN_NAME}: {exc.problem}",)  # not "<bytes>"
        raise
    finally:
        if shown:  # clear the progress line, so the text printed next does not land on its remains
            console.file.write("\r\x1b[2K")
            console.file.flush()
    words = sum(len(page.words) for page in document.pages)
    log.info("%s: %d pages, %d words, %.2f s", name, len(document.pages), words, document.metadata.get("seconds", 0))
    return "\n".join(printed) if printed else None


def read_stdin() -> bytes:
    """The whole of standard input, for the input ``-``; refused when it is a terminal (nothing was piped in)."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise ConfigError(
            "- reads an image or PDF from standard input, but nothing is piped in (cat page.png | textlens read -)"
        )
    return stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()


def _check_stdout(output: str | None, items: list[Path], formats: tuple[str, ...]) -> None:
    """Binary outputs need a destination; several binary files cannot share standard output."""
    if output is None and any(f in BINARY_FORMATS for f in formats):
        raise ConfigError("pdf and overlay outputs need -o FILE, -o FOLDER or -o - (standard output)")
    if output == STDOUT and any(f in BINARY_FORMATS for f in formats) and (len(items) > 1 or len(formats) > 1):
        raise ConfigError("-o - takes one binary output (pdf or overlay) of one input")


def parse_formats(value: str) -> tuple[str, ...]:
    from textlens.io import FORMATS

    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"unknown format {', '.join(unknown) or value!r}; choose from {', '.join(FORMATS)}")
    return formats


def read(
    inputs: Annotated[
        list[str], typer.Argument(help="Images, PDFs, globs or folders; - reads one from standard input.")
    ],
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Output file (one input, one format) or folder (several, or ending in /)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            envvar=settings.env("format"),
            help="text, json, hocr, alto, tsv, pdf or overlay; several separated by commas.",
        ),
    ] = "text",
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, envvar=settings.env("jobs"), help="Worker processes.")
    ] = 1,
    detector: Annotated[
        str | None,
        typer.Option(
            envvar=settings.env("detector"),
            help="Detection model name or folder (default: the bundled default; morph_lines: the classical "
            "line detector for clean printed documents).",
        ),
    ] = None,
    recognizer: Annotated[
        str | None,
        typer.Option(
            envvar=settings.env("recognizer"),
            help="Recognition model name (`textlens models`) or a folder of your own (config.json + model.onnx).",
        ),
    ] = None,
    deskew: Annotated[bool, typer.Option(help="Straighten skewed pages first.")] = False,
    binarize: Annotated[str | None, typer.Option(help="Binarise first: otsu or sauvola.")] = None,
    denoise: Annotated[bool, typer.Option(help="Denoise first.")] = False,
    dpi: Annotated[
        int, typer.Option(min=1, envvar=settings.env("dpi"), help="Resolution PDF pages are rendered at.")
    ] = int(DEFAULT_DPI),
    max_pixels: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Refuse pages with more pixels than this (default {DEFAULT_MAX_PIXELS:,}: ~1.3 GB peak)."
        ),
    ] = None,
    pages: Annotated[
        str | None, typer.Option(help="Pages to read, counted from 1: 1-5,9 or 7- (default: all).")
    ] = None,
    max_pages: Annotated[
        int, typer.Option(min=1, help="Refuse files with more pages to read than this.")
    ] = DEFAULT_MAX_PAGES,
    pdf_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds one PDF page may take to render before it fails.")
    ] = DEFAULT_PDF_TIMEOUT,
    pdf_memory: Annotated[
        int, typer.Option(min=256, help="Memory (MiB) the PDF renderer process may use before a page fails.")
    ] = DEFAULT_PDF_MEMORY_MB,
    threads: Annotated[
        int | None, typer.Option(envvar=settings.env("threads"), help="Inference threads per process.")
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            envvar=settings.env("min_confidence"),
            help="Drop regions read with a lower confidence (one- or two-character regions need 0.9, 0.85 beside "
            "other words of their row; 0 keeps all).",
        ),
    ] = DEFAULT_MIN_CONFIDENCE,
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
    dehyphenate: Annotated[
        bool,
        typer.Option(
            help="Text output: join a word broken by a hyphen at a line's end when the next line goes on in "
            "lower case (infor- mation → information). JSON, hOCR, ALTO, TSV and PDF keep the words as read."
        ),
    ] = True,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar=settings.env("lang"),
            help="Language of the text, ISO 639-1 (fr, de, pl...; `textlens languages` lists them), or auto to "
            "guess it per page: picks the recogniser that reads its letters and records it in the outputs.",
        ),
    ] = None,
    domain: Annotated[
        str,
        typer.Option(
            "--domain",
            help="What the inputs are: document (scans, renders), scene (photos: no ink fill, an input size by "
            "the text's size) or auto (decided per page by how much of it is plain paper and how colourful it is).",
        ),
    ] = "auto",
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More on standard error: -v info, -vv debug.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors on standard error (no warnings, progress, summary).")
    ] = False,
) -> None:
    """Read text from images and PDFs.

    With -o FOLDER each input's outputs go to FOLDER/<its folder below the inputs' common folder>/<stem>.<ext>
    (<name>.<ext>, e.g. x.png.txt, where x.png and x.jpg sit side by side), so no two inputs share an output;
    a run where an output would replace an input is refused before anything is read.
    -o - writes to standard output; - as an input reads standard input (cat page.png | textlens read -).
    When several inputs print to standard output, each document starts with a line ==> NAME <== (as head does).

    Defaults of --format, --lang, --threads, --jobs, --detector, --recognizer, --dpi and --min-confidence come
    from the environment (TEXTLENS_FORMAT, TEXTLENS_LANG...), then from the [read] table of
    ~/.config/textlens/config.toml ($TEXTLENS_CONFIG names another file); the command line wins over both.
    """
    from textlens.cli.logs import level_for, setup_logging
    from textlens.cli.logs import quiet as logs_quiet
    from textlens.io.limits import parse_page_ranges
    from textlens.io.write.stream import Protected

    if verbose or quiet:  # `textlens read -v` as `textlens -v read`
        setup_logging(level_for(verbose, quiet))
    try:
        if inputs.count(STDIN) > 1:
            raise ConfigError("- (standard input) can be read once per run")
        formats = parse_formats(fmt)
        selected = None if pages is None else parse_page_ranges(pages)
        language = parse_lang(lang)
        if domain not in ("auto", "document", "scene"):
            raise ConfigError(f"unknown --domain {domain!r} (auto, document or scene)")
        items = expand_inputs(inputs)
        to_folder = output_is_folder(output, len(items), len(formats))
        _check_stdout(output, items, formats)
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
            root=common_root([i for i in items if str(i) != STDIN] or items) if to_folder else None,
            full_names=shared_stems(items),
            pages=selected,
            max_pages=max_pages,
            pdf_timeout=pdf_timeout,
            pdf_memory_mb=pdf_memory,
            protected=Protected.of(items),
            dehyphenate=dehyphenate,
            lang=language,
            domain=domain,
            stdin=read_stdin() if STDIN in inputs else None,
        )
        planned = [(item, target) for item in items for target in targets(item, options).values() if target]
        check_output_plan(planned, items)
    except ConfigError as exc:
        console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    for folder in {target.parent for _, target in planned}:
        remove_stale_temporaries(folder)
    try:
        ocr = build_ocr(options)  # fail once, clearly, when no model can be loaded
    except TextlensError as exc:
        raise fail(exc) from exc
    if getattr(ocr, "language_warning", None):
        log.warning(ocr.language_warning)
    headers = len(items) > 1  # several documents to standard output: ==> NAME <== before each, as head(1) does
    printed: list[Path] = []

    def emit(item: Path, text: str | None) -> None:
        if text is not None:
            if headers:
                name = STDIN_HEADER if str(item) == STDIN else str(item)
                sys.stdout.write(f"{chr(10) if printed else ''}==> {name} <==\n")
            printed.append(item)
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()

    options = dataclasses.replace(options, page_progress=jobs == 1 and console.is_terminal and not logs_quiet())
    report = run_batch(items, functools.partial(read_one, options=options), jobs=jobs, on_result=emit)
    raise typer.Exit(report.exit_code)
