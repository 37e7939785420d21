"""``textlens eval``: score a recogniser, page reader, digit classifier or saved predictions on a manifest."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from textlens.cli.common import SecondLookOpt, fail, second_look_option
from textlens.data.manifest import ManifestRecord, read_manifest
from textlens.document import Document
from textlens.errors import AnnotationError, ModelError, TextlensError, UnknownModel
from textlens.eval.layout import Level, PredLevel
from textlens.eval.pages import IouMode
from textlens.eval.predictions import pair_predictions, read_predictions
from textlens.eval.report import write_errors, write_report
from textlens.eval.results import (
    DigitResult,
    PageResult,
    RecResult,
    digit_result,
    page_result,
    rec_result,
)
from textlens.eval.runners import evaluate_digits, evaluate_pages, evaluate_recognizer, record_langs
from textlens.runtime import load_recognizer

app = typer.Typer(
    help="Score models or saved predictions against a manifest (definitions: docs/evaluation.md).",
    no_args_is_help=True,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ManifestOpt = Annotated[Path, typer.Option("--manifest", "-m", help="JSONL manifest (paths relative to it).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="Score at most N records.")]
StartOpt = Annotated[int, typer.Option("--start", min=0, help="Skip the first N records (score a held-out tail).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
ErrorsOpt = Annotated[Path | None, typer.Option("--errors", help="Write every miss to this JSONL file.")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write report.md + report.html to this folder.")]
LevelOpt = Annotated[str, typer.Option("--level", help="The ground truth's level: word or line.")]
PredLevelOpt = Annotated[str, typer.Option("--pred-level", help="What predictions are: auto, word or line.")]
IouOpt = Annotated[str, typer.Option("--iou", help="Compare boxes (box) or polygons (polygon).")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="Inference threads (default: all).")]


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
    return value


@contextmanager
def _failures() -> Iterator[None]:
    """Turn textlens errors into one red line on stderr and the exit code of ``cli.common.exit_code_for``."""
    try:
        yield
    except TextlensError as exc:
        raise fail(exc, err) from exc


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _plain(value: Any, fmt: str = "{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)


def _print_table(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


def _show(result: RecResult | PageResult | DigitResult, as_json: bool, title: str) -> None:
    values = result.to_json()
    if as_json:
        print(json.dumps(values))
        return
    if isinstance(result, RecResult):
        rows = [
            ("crops", str(values["count"])),
            ("word accuracy", _pct(values["word_acc"])),
            ("word accuracy (ci, alnum)", _pct(values["word_acc_ci_alnum"])),
            ("CER", _pct(values["cer"])),
            ("CER (ci, alnum)", _pct(values["cer_ci_alnum"])),
            ("WER", _pct(result.scores.wer)),
            ("1-NED", _plain(values["ned"], "{:.4f}")),
            ("ms per crop", _plain(values["ms_per_item"], "{:.2f}")),
            ("model load s", _plain(values["init_s"], "{:.2f}")),
        ]
    elif isinstance(result, PageResult):
        rows = [("pages", str(values["pages"]))]
        rows += [
            (k.replace("_", " "), _pct(values[k]))
            for k in (
                "det_precision",
                "det_recall",
                "det_f1",
                "e2e_precision",
                "e2e_recall",
                "e2e_f1",
                "e2e_ci_f1",
                "bow_f1",
                "page_cer",
            )
        ]
        rows += [
            ("s per page", _plain(values["s_per_page"], "{:.3f}")),
            ("peak RSS MiB", _plain(values["peak_rss_mb"], "{:.0f}")),
        ]
    else:
        rows = [
            ("images", str(values["count"])),
            ("accuracy", _pct(values["accuracy"])),
            ("error", _pct(values["error"])),
        ]
    _print_table(title, rows)
    if isinstance(result, RecResult) and "by_lang" in values:
        _print_by_lang(values["by_lang"])


def _print_by_lang(by_lang: dict[str, dict[str, Any]]) -> None:
    """Per-language scores of a crop set whose records carry ``lang``."""
    table = Table(title="per language", show_header=True, header_style="bold")
    for name in ("lang", "crops", "CER", "exactly right", "CER (ci, alnum)"):
        table.add_column(name, justify="left" if name == "lang" else "right")
    for lang, v in by_lang.items():
        table.add_row(lang, str(v["count"]), _pct(v["cer"]), _pct(v["word_acc"]), _pct(v["cer_ci_alnum"]))
    out.print(table)


def _outputs(
    result: RecResult | PageResult | DigitResult, errors: Path | None, report: Path | None, title: str
) -> None:
    if errors is not None:
        n = write_errors(errors, result)
        err.print(f"{n} misses written to {errors}")
    if report is not None:
        path = write_report(report, result, title)
        err.print(f"report written to {path} and {path.with_suffix('.html')}")


def _records(manifest: Path, limit: int | None, start: int = 0) -> list[ManifestRecord]:
    records = read_manifest(manifest, limit, start)
    if not records:
        raise AnnotationError(f"the manifest has no records{f' after the first {start}' if start else ''}", manifest)
    return records


@app.command()
def rec(
    manifest: ManifestOpt,
    model: Annotated[str | None, typer.Option("--model", help="Recogniser name or folder.")] = None,
    limit: LimitOpt = None,
    start: StartOpt = 0,
    json_out: JsonOpt = False,
    errors: ErrorsOpt = None,
    report: ReportOpt = None,
    threads: ThreadsOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Crops per recogniser call.")] = 16,
    second_look: SecondLookOpt = None,
) -> None:
    """Recognition of cropped words or lines: accuracy, CER, 1-NED, speed."""
    with _failures():
        records = _records(manifest, limit, start)
        t0 = time.perf_counter()
        options: dict[str, Any] = second_look_option(second_look)
        if threads:
            options["threads"] = threads
        recognizer = load_recognizer(model, **options)
        init_s = time.perf_counter() - t0
        with _progress(len(records), "reading crops") as advance:
            result = evaluate_recognizer(recognizer, records, batch_size=batch_size, init_s=init_s, progress=advance)
        result.threads = threads
        title = f"recognition: {getattr(recognizer, 'name', model)} on {manifest}"
        _show(result, json_out, title)
        _outputs(result, errors, report, title)


def load_page_reader(
    detector: str | None, recognizer: str | None, threads: int | None, domain: str = "auto"
) -> Callable[[np.ndarray], Any]:
    """The textlens page pipeline as ``RGB page image -> Page`` (one page, no file decoding)."""
    try:
        from textlens.pipeline import OCR
    except ImportError as exc:
        raise ModelError(f"the page pipeline (textlens.pipeline.OCR) is not available: {exc}") from exc
    ocr = OCR(detector=detector, recognizer=recognizer, threads=threads, domain=domain)
    return lambda image: Document(pages=(ocr.read_page(image),))


@app.command()
def page(
    manifest: ManifestOpt,
    level: LevelOpt = "word",
    pred_level: PredLevelOpt = "auto",
    iou: IouOpt = "box",
    detector: Annotated[str | None, typer.Option("--detector", help="Detector name or folder.")] = None,
    recognizer: Annotated[str | None, typer.Option("--recognizer", help="Recogniser name or folder.")] = None,
    limit: LimitOpt = None,
    start: StartOpt = 0,
    json_out: JsonOpt = False,
    errors: ErrorsOpt = None,
    report: ReportOpt = None,
    threads: ThreadsOpt = None,
    domain: Annotated[
        str, typer.Option("--domain", help="auto (per page), document or scene: as `textlens read --domain`.")
    ] = "auto",
) -> None:
    """Whole pages: detection and end-to-end P/R/F1, bag of words, page CER, speed, memory."""
    level_ = _choice(level, ("word", "line"), "--level")
    pred_level_ = _choice(pred_level, ("auto", "word", "line"), "--pred-level")
    iou_ = _choice(iou, ("box", "polygon"), "--iou")
    domain_ = _choice(domain, ("auto", "document", "scene"), "--domain")
    with _failures():
        records = _records(manifest, limit, start)
        t0 = time.perf_counter()
        reader = load_page_reader(detector, recognizer, threads, domain_)
        init_s = time.perf_counter() - t0
        with _progress(len(records), "reading pages") as advance:
            result = evaluate_pages(
                reader,
                records,
                level=level_,
                pred_level=pred_level_,  # type: ignore[arg-type]
                iou=iou_,
                init_s=init_s,
                progress=advance,
            )  # type: ignore[arg-type]
        title = f"pages ({level_} level) on {manifest}"
        _show(result, json_out, title)
        _outputs(result, errors, report, title)


def load_classifier(name: str) -> Callable[[np.ndarray], str]:
    """A digit classifier as ``image -> label``: a ``digits`` bundle (digits_cnn, on onnxruntime) or the glimpse
    models (RAM, DRAM), which run on torch."""
    from textlens.models.registry import load_config, needs_train_extra

    folder = Path(name) if Path(name).is_dir() else None
    family = load_config(folder or name).get("family")
    if family == "digits":
        from textlens.models.digits_predict import load_digit_classifier

        classifier = load_digit_classifier(folder or name)
        return lambda image: classifier([image])[0]
    if family != "glimpse":
        raise UnknownModel(
            f"{name!r} is a {family} model, not a digit classifier (bundled: digits_cnn, ram_mnist, dram_multidigit)",
            name,
        )
    with needs_train_extra("textlens eval digits (glimpse models run on torch)"):
        from textlens.models.glimpse.predict import load_glimpse_model

    predict = load_glimpse_model(folder or name)
    return lambda image: predict([image])[0]


@app.command()
def digits(
    manifest: ManifestOpt,
    model: Annotated[str, typer.Option("--model", help="Classifier name or folder.")],
    limit: LimitOpt = None,
    start: StartOpt = 0,
    json_out: JsonOpt = False,
    errors: ErrorsOpt = None,
    report: ReportOpt = None,
) -> None:
    """Digit or character classification: accuracy and error rate (a sequence must be right in full)."""
    with _failures():
        records = _records(manifest, limit, start)
        predict = load_classifier(model)
        with _progress(len(records), "classifying") as advance:
            result = evaluate_digits(predict, records, progress=advance)
        title = f"classification: {model} on {manifest}"
        _show(result, json_out, title)
        _outputs(result, errors, report, title)


def _score(
    records: list[ManifestRecord],
    pred_file: Path,
    manifest: Path,
    level: Level,
    pred_level: PredLevel,
    iou: IouMode,
) -> RecResult | PageResult | DigitResult:
    kinds = {r.kind for r in records}
    if len(kinds) > 1:
        raise AnnotationError(f"mixes record kinds ({', '.join(sorted(kinds))}); score one kind at a time", manifest)
    kind = kinds.pop()
    pairing = pair_predictions(records, read_predictions(pred_file), manifest.parent)
    missing = sum(p is None for p in pairing.preds)
    if missing:
        err.print(f"[yellow]warning[/yellow] {missing} manifest images have no prediction: scored as empty")
    if pairing.unmatched:
        err.print(
            f"[yellow]warning[/yellow] {len(pairing.unmatched)} predictions match no manifest image "
            f"(first: {pairing.unmatched[0].where} {pairing.unmatched[0].image!r})"
        )
    for p in pairing.preds:
        if p is not None and (p.words is None) != (kind != "page"):
            wanted = "'words'" if kind == "page" else "'pred'"
            raise AnnotationError(f"{p.where}: the manifest holds {kind} records, so a prediction needs {wanted}")
    images = [r.image for r in records]
    if kind == "page":
        preds = [(p.words or []) if p else [] for p in pairing.preds]
        return page_result(images, [r.words for r in records], preds, level=level, pred_level=pred_level, iou=iou)
    texts = [(p.pred or "") if p else "" for p in pairing.preds]
    if kind == "label":
        return digit_result(images, [r.label or "" for r in records], texts)
    return rec_result(images, [r.text or "" for r in records], texts, langs=record_langs(records))


@app.command()
def score(
    manifest: ManifestOpt,
    pred: Annotated[Path, typer.Option("--pred", help="JSONL predictions: {image, pred} or {image, words}.")],
    level: LevelOpt = "word",
    pred_level: PredLevelOpt = "auto",
    iou: IouOpt = "box",
    json_out: JsonOpt = False,
    errors: ErrorsOpt = None,
    report: ReportOpt = None,
) -> None:
    """Score saved predictions of any system against a manifest (no model is run, so no timings)."""
    level_ = _choice(level, ("word", "line"), "--level")
    pred_level_ = _choice(pred_level, ("auto", "word", "line"), "--pred-level")
    iou_ = _choice(iou, ("box", "polygon"), "--iou")
    with _failures():
        records = _records(manifest, None)
        result = _score(records, pred, manifest, level_, pred_level_, iou_)  # type: ignore[arg-type]
        title = f"{pred} scored on {manifest}"
        _show(result, json_out, title)
        _outputs(result, errors, report, title)


@app.command("extract")
def extract_(
    manifest: ManifestOpt,
    task: Annotated[str, typer.Option("--task", help="The extraction task: receipt, card, form, plate.")] = "receipt",
    model: Annotated[
        str | None, typer.Option("--model", help="The extractor's bundle folder (plate: regions, e.g. DE,GB).")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Read Documents cached as <stem>.json here (textlens extract train's cache) "
            "instead of running OCR; images without one are read.",
        ),
    ] = None,
    limit: LimitOpt = None,
    start: StartOpt = 0,
    json_out: JsonOpt = False,
    errors: ErrorsOpt = None,
    threads: ThreadsOpt = None,
    input_: Annotated[
        str, typer.Option("--input", help="form: the words analysed, ocr (our own OCR) or gt (the labelled words).")
    ] = "ocr",
) -> None:
    """Key-information extraction from our own OCR: per-field accuracy and micro P/R/F1 (records carry `key`);
    forms (`--task form`): entity_f1 and link_f1 (docs/evaluation.md); plates (`--task plate`, records carry
    `plates`): exact plate accuracy and detection F1 at IoU ≥ 0.5 (docs/extraction.md, Plates)."""
    from textlens.extract import get_extractor
    from textlens.extract.score import collapse, score_fields

    if task == "form":
        _eval_form(manifest, model, cache, limit, start, json_out, threads, _choice(input_, ("ocr", "gt"), "--input"))
        return
    if task == "plate":
        from textlens.extract.plate_eval import run_plate_eval, table_rows

        with _failures():
            values = run_plate_eval(manifest, limit, start, threads, errors, regions=model)
        if json_out:
            print(json.dumps(values))
        else:
            _print_table(f"plates on {manifest}", table_rows(values))
        return
    with _failures():
        records = _records(manifest, limit, start)
        missing = [str(r.image) for r in records if not isinstance(r.extra.get("key"), dict)]
        if missing:
            raise AnnotationError(
                f"{len(missing)} records have no 'key' object of fields (first: {missing[0]})", manifest
            )
        t0 = time.perf_counter()
        extractor = get_extractor(task, **({"model": model} if model else {}))
        reader = None
        init_s = time.perf_counter() - t0
        read_s = extract_s = 0.0
        pairs, misses = [], []
        normalise, all_right = getattr(extractor, "normalise", None), 0
        scored = tuple(f for f in extractor.fields if any(f in r.extra["key"] for r in records))
        with _progress(len(records), "extracting") as advance:
            for r in records:
                cached = cache / f"{Path(r.image).stem}.json" if cache is not None else None
                t1 = time.perf_counter()
                if cached is not None and cached.is_file():
                    doc = Document.from_dict(json.loads(cached.read_text(encoding="utf-8"))["document"])
                else:
                    if reader is None:
                        from textlens.pipeline import OCR

                        reader = OCR(threads=threads)
                    doc = reader.read(r.image)
                t2 = time.perf_counter()
                found = extractor.extract(doc)
                # tasks with a normalise(fields) compare normalised values (cards: phones as E.164)
                pred = found.raw() if normalise is None else normalise(found.values())
                read_s += t2 - t1
                extract_s += time.perf_counter() - t2
                truth = r.extra["key"] if normalise is None else normalise(r.extra["key"])
                all_right += all(collapse(pred.get(f)) == collapse(truth.get(f)) for f in scored)
                pairs.append((pred, truth))
                misses += [{"image": str(r.image), "field": f, "truth": truth.get(f, ""), "pred": pred.get(f, "")}
                           for f in scored if collapse(pred.get(f)) != collapse(truth.get(f))]  # fmt: skip
                advance(1)
        values = score_fields(pairs, scored)
        n = max(len(records), 1)
        values["all_right"] = all_right / n  # the share of documents with every scored field right
        values.update({"task": task, "s_per_page": read_s / n if cache is None else None,
                       "extract_s_per_page": extract_s / n, "init_s": init_s})  # fmt: skip
        if errors is not None:
            from textlens.io.atomic import atomic_write_text

            atomic_write_text(errors, "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in misses))
            err.print(f"{len(misses)} misses written to {errors}")
        if json_out:
            print(json.dumps(values))
            return
        rows = [("documents", str(values["count"]))]
        rows += [(k, _pct(values[k])) for k in ("precision", "recall", "f1", *scored, "all_right")]
        rows += [("read s per page", _plain(values["s_per_page"])),
                 ("extract s per page", _plain(values["extract_s_per_page"], "{:.4f}"))]  # fmt: skip
        _print_table(f"extraction ({task}) on {manifest}", rows)


def _eval_form(manifest: Path, model: str | None, cache: Path | None, limit: int | None, start: int,
               json_out: bool, threads: int | None, input_: str) -> None:  # fmt: skip
    """``eval extract --task form``: entity and link F1 from the labelled words (gt) or our own OCR."""
    from textlens.extract.form import FormExtractor
    from textlens.extract.form_train import evaluate_form_records, read_form_records

    with _failures():
        records = read_form_records(manifest)[start:]
        records = records[:limit] if limit is not None else records
        if not records:
            raise AnnotationError("the manifest has no records", manifest)
        values = evaluate_form_records(FormExtractor(model), records, manifest.parent, input_, cache, threads)
        if json_out:
            print(json.dumps(values))
            return
        keys = ("entity_precision", "entity_recall", "entity_f1", "link_precision", "link_recall", "link_f1")
        rows = [("pages", str(values["count"]))] + [(k, _pct(values[k])) for k in keys]
        rows += [("extract s per page", _plain(values["extract_s_per_page"], "{:.4f}"))]
        _print_table(f"extraction (form, {input_} words) on {manifest}", rows)
