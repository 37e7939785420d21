"""The Street View Text dataset (SVT): ``train.xml`` / ``test.xml`` with tagged word rectangles per image."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import PageDatasetReader, existing_path, image_in, register_reader
from textlens.data.samples import PageSample, WordAnnotation
from textlens.errors import AnnotationError


@dataclass(frozen=True)
class SvtEntry:
    """One SVT image: its file, words and the per-image lexicon (``<lex>``)."""

    image: Path
    words: tuple[WordAnnotation, ...]
    lexicon: tuple[str, ...]


def _int_attr(node: ET.Element, name: str, where: str) -> float:
    value = node.get(name)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: taggedRectangle {name}={value!r} is not a number") from None


def parse_svt_xml(path: Path) -> list[SvtEntry]:
    """Parse an SVT annotation file; image paths are relative to its folder."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise AnnotationError(f"invalid XML ({exc})", path) from exc
    entries = []
    for index, image in enumerate(root.iter("image")):
        name = (image.findtext("imageName") or "").strip()
        if not name:
            raise AnnotationError(f"image {index} has no <imageName>", path)
        words = []
        for rect in image.iter("taggedRectangle"):
            where = f"{path}: {name}"
            x, y = _int_attr(rect, "x", where), _int_attr(rect, "y", where)
            w, h = _int_attr(rect, "width", where), _int_attr(rect, "height", where)
            words.append(WordAnnotation(text=(rect.findtext("tag") or "").strip(), box=(x, y, x + w, y + h)))
        lex = tuple(t.strip() for t in (image.findtext("lex") or "").split(",") if t.strip())
        entries.append(SvtEntry(image=image_in(path.parent, name, path), words=tuple(words), lexicon=lex))
    return entries


@register_reader
class SvtReader(PageDatasetReader):
    """SVT → ``PageSample``; ``entries[i].lexicon`` holds the 50-word lexicon of page ``i``."""

    name: ClassVar[str] = "svt"
    description = "Street View Text: svt.xml/test.xml (taggedRectangles) + images → PageSample"

    def __init__(self, path: str | Path, split: str = "test") -> None:
        path = existing_path(path)
        self.annotation = path / f"{split}.xml" if path.is_dir() else path
        if path.is_dir() and not self.annotation.exists() and (path / "svt.xml").exists():
            self.annotation = path / "svt.xml"
        self.annotation = existing_path(self.annotation, "SVT annotation file")
        self.entries = parse_svt_xml(self.annotation)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[PageSample]:
        for entry in self.entries:
            yield PageSample(image=read_rgb(entry.image), words=entry.words, source=str(entry.image))
