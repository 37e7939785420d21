"""Error lists (JSONL) and human-readable reports (Markdown + self-contained HTML) of an evaluation."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from textlens.data.manifest import atomic_write_text, read_rgb
from textlens.errors import OutputError, TextlensError
from textlens.eval.results import CropOutcome, DigitResult, PageOutcome, PageResult, RecResult
from textlens.io.atomic import atomic_write_bytes

MAX_CROPS = 50
MAX_PAGES = 10
MAX_PAGE_WIDTH = 1200
MISSED, FALSE_ALARM, MISREAD = (220, 30, 30), (240, 140, 0), (30, 90, 230)


def error_records(result: RecResult | PageResult | DigitResult) -> Iterable[dict[str, Any]]:
    """One JSON object per miss: a wrong crop or label, or a missed, false or misread word on a page."""
    if isinstance(result, PageResult):
        for page in result.items:
            yield from _page_errors(page)
        return
    items = result.misses()
    for it in items:
        out: dict[str, Any] = {
            "image": str(it.image),
            "truth": it.truth,
            "pred": it.pred,
            "ned": round(it.similarity, 4),
        }
        if it.confidence is not None:
            out["confidence"] = round(it.confidence, 4)
        yield out


def _page_errors(page: PageOutcome) -> Iterable[dict[str, Any]]:
    image = str(page.image)
    for i in page.match.missed:
        yield {"image": image, "kind": "missed", "truth": page.gt[i].text, "box": list(page.gt[i].box)}
    for j in page.match.false_alarms:
        yield {
            "image": image,
            "kind": "false_alarm",
            "pred": page.preds[j].text,
            "box": list(page.preds[j].box),
        }
    for i, j, iou in page.match.pairs:
        if page.gt[i].text.split() != page.preds[j].text.split():
            yield {
                "image": image,
                "kind": "misread",
                "truth": page.gt[i].text,
                "pred": page.preds[j].text,
                "box": list(page.gt[i].box),
                "iou": round(iou, 3),
            }


def write_errors(path: str | Path, result: RecResult | PageResult | DigitResult) -> int:
    """Write the misses as JSONL (atomically); returns how many."""
    lines = [json.dumps(r, ensure_ascii=False) for r in error_records(result)]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def _png_bytes(image: np.ndarray, max_width: int) -> bytes:
    if image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        image = cv2.resize(image, (max_width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _load(image: Path) -> np.ndarray:
    try:
        return read_rgb(image)
    except TextlensError:
        # A report must not fail on one unreadable picture: show a grey placeholder instead.
        return np.full((32, 96, 3), 200, np.uint8)


def _page_picture(page: PageOutcome) -> np.ndarray:
    canvas = _load(page.image).copy()
    thickness = max(1, canvas.shape[1] // 600)

    def draw(box: tuple[float, float, float, float], colour: tuple[int, int, int]) -> None:
        x0, y0, x1, y1 = (round(v) for v in box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, thickness)

    for i in page.match.missed:
        draw(page.gt[i].box, MISSED)
    for j in page.match.false_alarms:
        draw(page.preds[j].box, FALSE_ALARM)
    for i, j, _ in page.match.pairs:
        if page.gt[i].text.split() != page.preds[j].text.split():
            draw(page.gt[i].box, MISREAD)
    return canvas


class _Report:
    """Accumulates sections in both formats, with pictures saved beside (Markdown) and inlined (HTML)."""

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = folder
        self.images = folder / "images"
        self.images.mkdir(parents=True, exist_ok=True)
        self.md: list[str] = [f"# {title}", ""]
        self.html: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def summary(self, values: dict[str, Any]) -> None:
        values = {k: "-" if v is None else v for k, v in values.items()}
        self.md += ["| metric | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in values.items()], ""]
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in values.items())
        self.html.append(f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>")

    def heading(self, text: str) -> None:
        self.md += [f"## {text}", ""]
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def picture(self, name: str, image: np.ndarray, max_width: int) -> tuple[str, str]:
        data = _png_bytes(image, max_width)
        atomic_write_bytes(self.images / name, data)
        return f"images/{name}", "data:image/png;base64," + base64.b64encode(data).decode("ascii")

    def finish(self) -> Path:
        style = (
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{max-width:100%}"
        )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>textlens evaluation</title>"
            f"<style>{style}</style></head><body>{''.join(self.html)}</body></html>\n"
        )
        atomic_write_text(self.folder / "report.md", "\n".join(self.md) + "\n")
        atomic_write_text(self.folder / "report.html", page)
        return self.folder / "report.md"


def _crop_rows(report: _Report, items: list[CropOutcome]) -> None:
    report.md += ["| # | image | truth | prediction | 1-NED |", "|---|---|---|---|---|"]
    rows = []
    for n, it in enumerate(items[:MAX_CROPS]):
        rel, uri = report.picture(f"crop_{n:03d}.png", _load(it.image), 400)
        truth, pred = it.truth.replace("|", "\\|"), it.pred.replace("|", "\\|")
        report.md.append(f"| {n + 1} | ![{it.image.name}]({rel}) | `{truth}` | `{pred}` | {it.similarity:.3f} |")
        rows.append(
            f"<tr><td>{n + 1}</td><td><img src='{uri}' alt='{html.escape(it.image.name)}'></td>"
            f"<td><code>{html.escape(it.truth)}</code></td><td><code>{html.escape(it.pred)}</code></td>"
            f"<td>{it.similarity:.3f}</td></tr>"
        )
    report.md.append("")
    report.html.append(
        "<table><tr><th>#</th><th>image</th><th>truth</th><th>prediction</th><th>1-NED</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _page_sections(report: _Report, pages: list[PageOutcome]) -> None:
    report.md += ["Boxes: red = missed, orange = false alarm, blue = misread.", ""]
    report.html.append(
        "<p>Boxes: <b style='color:#dc1e1e'>missed</b>, <b style='color:#f08c00'>false alarm</b>,"
        " <b style='color:#1e5ae6'>misread</b>.</p>"
    )
    for n, page in enumerate(pages[:MAX_PAGES]):
        m = page.match
        report.heading(
            f"{page.image.name}: page CER {m.cer:.3f}, {len(m.missed)} missed, {len(m.false_alarms)} false alarms"
        )
        rel, uri = report.picture(f"page_{n:03d}.png", _page_picture(page), MAX_PAGE_WIDTH)
        report.md += [f"![{page.image.name}]({rel})", ""]
        report.html.append(f"<img src='{uri}' alt='{html.escape(page.image.name)}'>")
        misreads = [
            (page.gt[i].text, page.preds[j].text)
            for i, j, _ in m.pairs
            if page.gt[i].text.split() != page.preds[j].text.split()
        ][:30]
        if misreads:
            report.md += [
                "| truth | prediction |",
                "|---|---|",
                *[f"| `{t}` | `{p}` |" for t, p in misreads],
                "",
            ]
            report.html.append(
                "<table><tr><th>truth</th><th>prediction</th></tr>"
                + "".join(
                    f"<tr><td><code>{html.escape(t)}</code></td><td><code>{html.escape(p)}</code></td></tr>"
                    for t, p in misreads
                )
                + "</table>"
            )


def write_report(folder: str | Path, result: RecResult | PageResult | DigitResult, title: str) -> Path:
    """Write report.md and report.html (each atomically) with the summary and the worst cases as pictures."""
    folder = Path(folder)
    try:
        report = _Report(folder, title)
    except OSError as exc:
        raise OutputError(f"cannot create the report folder ({exc.strerror})", folder) from exc
    report.summary(result.to_json())
    if isinstance(result, PageResult):
        report.heading(f"Worst pages (up to {MAX_PAGES})")
        _page_sections(report, result.worst())
    else:
        report.heading(f"Worst misses (up to {MAX_CROPS})")
        _crop_rows(report, result.misses())
    return report.finish()
