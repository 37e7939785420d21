"""The manifest format (JSONL, one object a line, image paths relative to the manifest's folder).

- crops:  ``{"image": "images/w1.png", "text": "Tiredness"}``
- pages:  ``{"image": "p.png", "words": [{"text": "TOTAL", "box": [x0, y0, x1, y1], "poly": [[x, y], ...]}]}``
- labels: ``{"image": "d.png", "label": "7"}``

A word with ``"ignore": true`` or text ``###`` is a don't-care region.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from textlens.data.samples import CropSample, LabelSample, PageSample, WordAnnotation
from textlens.document import polygon_box
from textlens.errors import AnnotationError, CorruptImage, FileNotFound
from textlens.io.atomic import atomic_write_text as write_atomically

RecordKind = Literal["crop", "page", "label"]
_WORD_KEYS = {"text", "box", "poly", "polygon", "ignore"}


@dataclass(frozen=True)
class ManifestRecord:
    """One manifest line: where the image is and what it holds. Images load lazily."""

    image: Path
    kind: RecordKind
    text: str | None = None
    words: tuple[WordAnnotation, ...] = ()
    label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def load_image(self) -> np.ndarray:
        return read_rgb(self.image)

    def to_sample(self) -> CropSample | PageSample | LabelSample:
        image = self.load_image()
        if self.kind == "crop":
            return CropSample(image=image, text=self.text or "", source=str(self.image))
        if self.kind == "page":
            return PageSample(image=image, words=self.words, source=str(self.image))
        return LabelSample(image=image, label=self.label or "", source=str(self.image))


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to RGB uint8 (H×W×3), naming the file on failure."""
    path = Path(path)
    if not path.exists():
        raise FileNotFound("no such file", path)
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptImage(f"cannot decode image ({exc})", path) from exc


def _parse_word(raw: Any, where: str) -> WordAnnotation:
    if not isinstance(raw, dict) or "text" not in raw:
        raise AnnotationError(f"{where}: a word needs a 'text' field")
    poly_raw = raw.get("poly", raw.get("polygon"))
    polygon = tuple((float(p[0]), float(p[1])) for p in poly_raw) if poly_raw else None
    if "box" in raw:
        box_raw = raw["box"]
        if not isinstance(box_raw, list | tuple) or len(box_raw) != 4:
            raise AnnotationError(f"{where}: 'box' must be [x0, y0, x1, y1], got {box_raw!r}")
        box = tuple(float(v) for v in box_raw)
    elif polygon:
        box = polygon_box(polygon)
    else:
        raise AnnotationError(f"{where}: a word needs a 'box' or a 'poly'")
    if box[2] < box[0] or box[3] < box[1]:
        raise AnnotationError(f"{where}: box {list(box)} has x1 < x0 or y1 < y0")
    extra = {k: v for k, v in raw.items() if k not in _WORD_KEYS}
    return WordAnnotation(
        text=str(raw["text"]),
        box=box,
        polygon=polygon,  # type: ignore[arg-type]
        ignore=bool(raw.get("ignore", False)),
        extra=extra,
    )


def parse_record(obj: Any, root: Path, where: str) -> ManifestRecord:
    """Turn one decoded JSON object into a record; ``where`` names the file and line for errors."""
    if not isinstance(obj, dict) or not isinstance(obj.get("image"), str):
        raise AnnotationError(f"{where}: each line must be an object with an 'image' path")
    image = (root / obj["image"]).resolve()
    extra = {k: v for k, v in obj.items() if k not in {"image", "text", "words", "label"}}
    if "words" in obj:
        if not isinstance(obj["words"], list):
            raise AnnotationError(f"{where}: 'words' must be a list")
        words = tuple(_parse_word(w, f"{where} word {i}") for i, w in enumerate(obj["words"]))
        return ManifestRecord(image=image, kind="page", words=words, extra=extra)
    if "text" in obj:
        return ManifestRecord(image=image, kind="crop", text=str(obj["text"]), extra=extra)
    if "label" in obj:
        return ManifestRecord(image=image, kind="label", label=str(obj["label"]), extra=extra)
    raise AnnotationError(f"{where}: a line needs 'text', 'words' or 'label'")


def iter_manifest(path: str | Path, limit: int | None = None, start: int = 0) -> Iterator[ManifestRecord]:
    """Yield the records of a manifest in file order, from record ``start`` (0-based), at most ``limit`` of them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFound("manifest not found", path)
    root = path.parent
    count = skipped = 0
    if limit is not None and limit <= 0:
        return
    for lineno, line in utf8_lines(path):
        if not line.strip():
            continue
        if skipped < start:  # skipped records are not parsed: a held-out tail needs no look at the head
            skipped += 1
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnnotationError(f"{where}: not valid JSON ({exc.msg})") from exc
        yield parse_record(obj, root, where)
        count += 1
        if limit is not None and count >= limit:  # stop before reading (and decoding) the next line
            return


def utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file; a line that is not UTF-8 is an ``AnnotationError`` at ``file:line``.

    Lines are decoded one by one (not by a text-mode file) so that the error can say which line is bad.
    """
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                # A BOM on the first line (a manifest saved by a Windows editor) is not part of the JSON.
                yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise AnnotationError(
                    f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                ) from exc


def read_manifest(path: str | Path, limit: int | None = None, start: int = 0) -> list[ManifestRecord]:
    return list(iter_manifest(path, limit, start))


def record_to_json(record: ManifestRecord, root: Path) -> dict[str, Any]:
    """The JSON object for a record, its image path made relative to ``root`` where possible."""
    try:
        image = os.path.relpath(record.image, root)
    except ValueError:
        image = str(record.image)
    out: dict[str, Any] = {"image": image}
    if record.kind == "crop":
        out["text"] = record.text
    elif record.kind == "label":
        out["label"] = record.label
    else:
        out["words"] = [word_to_json(w) for w in record.words]
    out.update(record.extra)
    return out


def word_to_json(word: WordAnnotation) -> dict[str, Any]:
    out: dict[str, Any] = {"text": word.text, "box": [round(v, 2) for v in word.box]}
    if word.polygon is not None:
        out["poly"] = [[round(x, 2), round(y, 2)] for x, y in word.polygon]
    if word.ignore:
        out["ignore"] = True
    out.update(word.extra)
    return out


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file through a temporary file and a rename, so no reader sees half of it; the folder is
    created if needed and the file gets the umask's permissions like any new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)


def write_manifest(path: str | Path, records: Iterable[ManifestRecord]) -> int:
    """Write records as a manifest (atomically); returns the number written."""
    path = Path(path)
    lines = [json.dumps(record_to_json(r, path.parent.resolve()), ensure_ascii=False) for r in records]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines)


class ManifestWriter:
    """Saves samples as PNG files under ``out_dir/images`` and writes ``out_dir/manifest.jsonl`` on close."""

    def __init__(self, out_dir: str | Path, manifest_name: str = "manifest.jsonl", prefix: str = "") -> None:
        self.out_dir = Path(out_dir)
        self.images_dir = self.out_dir / "images"
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.out_dir / manifest_name
        self.prefix = prefix
        self.records: list[ManifestRecord] = []

    def add(
        self,
        sample: CropSample | PageSample | LabelSample,
        name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ManifestRecord:
        index = len(self.records)
        image_path = self.images_dir / (name or f"{self.prefix}{index:08d}.png")
        Image.fromarray(sample.image).save(image_path)
        if isinstance(sample, CropSample):
            record = ManifestRecord(image=image_path, kind="crop", text=sample.text, extra=extra or {})
        elif isinstance(sample, PageSample):
            record = ManifestRecord(image=image_path, kind="page", words=sample.words, extra=extra or {})
        else:
            record = ManifestRecord(image=image_path, kind="label", label=sample.label, extra=extra or {})
        self.records.append(record)
        return record

    def close(self) -> Path:
        write_manifest(self.manifest_path, self.records)
        return self.manifest_path

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
