"""Error lists (JSONL) and human-readable reports (Markdown + self-contained HTML) of an evaluation.

A report holds the summary, the character confusions (which characters were read as which: the most frequent
substitutions, drops and additions as a table and a heatmap picture, from the edit operations between truth and
reading of every crop or misread word), a contact sheet of the worst crops (recognition) and the worst
crops or pages one by one. Pictures are drawn with Pillow (no matplotlib needed).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.data.manifest import atomic_write_text, read_rgb
from textlens.errors import OutputError, TextlensError
from textlens.eval.results import CropOutcome, DigitResult, PageOutcome, PageResult, RecResult
from textlens.io.atomic import atomic_write_bytes

MAX_CROPS = 50
MAX_PAGES = 10
MAX_PAGE_WIDTH = 1200
MISSED, FALSE_ALARM, MISREAD = (220, 30, 30), (240, 140, 0), (30, 90, 230)
MAX_CONFUSIONS = 25  # rows of the confusion table
HEATMAP_CHARS = 14  # truth and read characters on the heatmap's axes
SHEET_CROPS = 24  # crops on the worst-crops contact sheet
NOTHING = "∅"  # the empty side of a dropped or added character


def char_confusions(pairs: Iterable[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """How often each truth character was read as another: ``(truth_char, read_char)`` counts from the edit
    operations (Levenshtein) of every (truth, reading) pair; ``""`` on one side is a dropped (read as nothing)
    or added character."""
    from rapidfuzz.distance import Levenshtein

    counts: Counter[tuple[str, str]] = Counter()
    for truth, pred in pairs:
        if truth == pred:
            continue
        for op in Levenshtein.editops(truth, pred):
            if op.tag == "replace":
                counts[(truth[op.src_pos], pred[op.dest_pos])] += 1
            elif op.tag == "delete":
                counts[(truth[op.src_pos], "")] += 1
            elif op.tag == "insert":
                counts[("", pred[op.dest_pos])] += 1
    return counts


def _shown(char: str) -> str:
    return {"": NOTHING, " ": "␣", "\t": "⇥"}.get(char, char)


def _font(size: int) -> Any:
    from textlens.io.write._common import find_font_file

    path = find_font_file()
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def confusion_heatmap(counts: Counter[tuple[str, str]], size: int = HEATMAP_CHARS, cell: int = 30) -> np.ndarray:
    """An RGB picture of the confusions: rows are truth characters, columns what they were read as (the
    ``size`` characters most involved on each axis; ∅ is nothing), darker red for more, each cell's count."""
    by_row: Counter[str] = Counter()
    by_col: Counter[str] = Counter()
    for (t, p), n in counts.items():
        by_row[t] += n
        by_col[p] += n
    rows = [c for c, _ in by_row.most_common(size)] or [""]
    cols = [c for c, _ in by_col.most_common(size)] or [""]
    font, small = _font(int(cell * 0.55)), _font(int(cell * 0.4))
    margin = cell + 8
    caption = "rows: truth · columns: read as"
    width, height = margin + cell * len(cols) + 4, margin + cell * len(rows) + 4
    width = max(width, int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(caption, font=small)) + 8)
    picture = Image.new("RGB", (width, height + cell), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    top = max((counts[(t, p)] for t in rows for p in cols), default=1) or 1
    for j, p in enumerate(cols):
        draw.text((margin + j * cell + cell / 2, margin / 2), _shown(p), font=font, fill=(0, 0, 0), anchor="mm")
    for i, t in enumerate(rows):
        y = margin + i * cell
        draw.text((margin / 2, y + cell / 2), _shown(t), font=font, fill=(0, 0, 0), anchor="mm")
        for j, p in enumerate(cols):
            x, n = margin + j * cell, counts[(t, p)]
            shade = n / top
            colour = (255, round(255 - 200 * shade), round(255 - 220 * shade)) if n else (248, 248, 248)
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour, outline=(220, 220, 220))
            if n:
                ink = (255, 255, 255) if shade > 0.55 else (0, 0, 0)
                draw.text((x + cell / 2, y + cell / 2), str(n), font=small, fill=ink, anchor="mm")
    draw.text((4, height + cell / 2), caption, font=small, fill=(80, 80, 80), anchor="lm")
    return np.asarray(picture)


def crop_sheet(
    items: Sequence[CropOutcome], height: int = 40, max_width: int = 360, limit: int = SHEET_CROPS
) -> np.ndarray:
    """The worst crops on one picture, one per row: the crop (at ``height``), then truth → reading."""
    font = _font(max(10, height // 3))
    rows = []
    for it in items[:limit]:
        crop = Image.fromarray(_load(it.image))
        scale = height / max(crop.height, 1)
        crop = crop.resize((max(1, min(max_width, round(crop.width * scale))), height))
        rows.append((crop, f"{it.truth} → {it.pred}   ({it.similarity:.2f})"))
    if not rows:
        return np.full((height, max_width, 3), 255, np.uint8)
    label_width = max(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font) for _, t in rows)
    width = max(c.width for c, _ in rows) + 16 + int(label_width) + 8
    sheet = Image.new("RGB", (width, len(rows) * (height + 6)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    left = max(c.width for c, _ in rows) + 12
    for n, (crop, text) in enumerate(rows):
        y = n * (height + 6) + 3
        sheet.paste(crop, (0, y))
        draw.text((left, y + height / 2), text, font=font, fill=(0, 0, 0), anchor="lm")
    return np.asarray(sheet)


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


def _confusion_section(report: _Report, pairs: Iterable[tuple[str, str]]) -> None:
    counts = char_confusions(pairs)
    if not counts:
        return
    report.heading(f"Character confusions (the {MAX_CONFUSIONS} most frequent)")
    total = sum(counts.values())
    top = counts.most_common(MAX_CONFUSIONS)
    report.md += [
        f"{total} character errors in all; {NOTHING} is nothing (a dropped or added character), ␣ a space.",
        "",
        "| truth | read as | count | share of errors |",
        "|---|---|---|---|",
        *[f"| `{_shown(t)}` | `{_shown(p)}` | {n} | {n / total:.1%} |" for (t, p), n in top],
        "",
    ]
    rel, uri = report.picture("confusions.png", confusion_heatmap(counts), 2000)
    report.md += [f"![character confusions]({rel})", ""]
    report.html.append(
        f"<p>{total} character errors in all; {NOTHING} is nothing (a dropped or added character), ␣ a space.</p>"
        "<table><tr><th>truth</th><th>read as</th><th>count</th><th>share of errors</th></tr>"
        + "".join(
            f"<tr><td><code>{html.escape(_shown(t))}</code></td><td><code>{html.escape(_shown(p))}</code></td>"
            f"<td>{n}</td><td>{n / total:.1%}</td></tr>"
            for (t, p), n in top
        )
        + f"</table><p><img src='{uri}' alt='character confusions'></p>"
    )


def _misread_pairs(pages: Iterable[PageOutcome]) -> Iterable[tuple[str, str]]:
    for page in pages:
        for i, j, _ in page.match.pairs:
            yield page.gt[i].text, page.preds[j].text


def write_report(folder: str | Path, result: RecResult | PageResult | DigitResult, title: str) -> Path:
    """Write report.md and report.html (each atomically) with the summary and the worst cases as pictures."""
    folder = Path(folder)
    try:
        report = _Report(folder, title)
    except OSError as exc:
        raise OutputError(f"cannot create the report folder ({exc.strerror})", folder) from exc
    report.summary(result.to_json())
    if isinstance(result, PageResult):
        _confusion_section(report, _misread_pairs(result.items))
        report.heading(f"Worst pages (up to {MAX_PAGES})")
        _page_sections(report, result.worst())
    else:
        misses = result.misses()
        if isinstance(result, RecResult):
            _confusion_section(report, ((it.truth, it.pred) for it in result.items))
        if misses:
            report.heading(f"Worst crops (up to {SHEET_CROPS}), truth → reading (1-NED)")
            rel, uri = report.picture("worst_crops.png", crop_sheet(misses), 2000)
            report.md += [f"![worst crops]({rel})", ""]
            report.html.append(f"<p><img src='{uri}' alt='worst crops'></p>")
        report.heading(f"Worst misses (up to {MAX_CROPS})")
        _crop_rows(report, misses)
    return report.finish()
