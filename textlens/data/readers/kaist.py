"""KAIST scene text: one XML per image (``words/word`` boxes with ``character`` children), Korean and English.

The XML files are inconsistent about encoding: some are UTF-8 with a BOM, some EUC-KR (CP949) while declaring
UTF-8, so the bytes are decoded by trying UTF-8 first and the declaration is dropped before parsing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    PageDatasetReader,
    existing_path,
    image_in,
    image_index,
    register_reader,
)
from textlens.data.samples import PageSample, WordAnnotation
from textlens.errors import AnnotationError, FileNotFound

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def decode_xml_bytes(data: bytes) -> str:
    """UTF-8 (BOM or not), else CP949 (a superset of EUC-KR); the XML declaration is removed."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp949", errors="replace")
    return _DECLARATION.sub("", text, count=1)


def _number(node: ET.Element, name: str, path: Path) -> float:
    value = node.get(name)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnnotationError(f"<{node.tag}> attribute {name}={value!r} is not a number", path) from None


def parse_kaist_xml(path: Path) -> tuple[str | None, tuple[WordAnnotation, ...]]:
    """The ``imageName`` (if any) and words of one KAIST annotation file."""
    try:
        root = ET.fromstring(decode_xml_bytes(path.read_bytes()))
    except ET.ParseError as exc:
        raise AnnotationError(f"invalid XML ({exc})", path) from exc
    image = root if root.tag == "image" else root.find(".//image")
    if image is None:
        raise AnnotationError("no <image> element", path)
    words = []
    for word in image.iter("word"):
        x, y = _number(word, "x", path), _number(word, "y", path)
        w, h = _number(word, "width", path), _number(word, "height", path)
        chars = [c.get("char", "") for c in word.iter("character")]
        text = "".join(chars) if chars else (word.get("text") or "")
        words.append(WordAnnotation(text=text, box=(x, y, x + w, y + h)))
    name = (image.findtext("imageName") or "").strip() or None
    return name, tuple(words)


@register_reader
class KaistReader(PageDatasetReader):
    """KAIST scene text (every ``*.xml`` under the folder, paired with its image) → ``PageSample``."""

    name: ClassVar[str] = "kaist"
    description = "KAIST scene text: per-image XML (words/word/character) + images → PageSample"

    def __init__(self, path: str | Path) -> None:
        path = existing_path(path)
        xmls = sorted(path.rglob("*.xml")) if path.is_dir() else [path]
        if not xmls:
            raise FileNotFound("no *.xml annotation files", path)
        indexes: dict[Path, dict[str, Path]] = {}
        for xml in xmls:
            if xml.parent not in indexes:
                indexes[xml.parent] = image_index(xml.parent)
        self.items = [(self._image_for(xml, indexes[xml.parent]), xml) for xml in xmls]

    @staticmethod
    def _image_for(xml: Path, images: dict[str, Path]) -> Path:
        # The image normally shares the XML's stem; imageName is a fallback, as it is sometimes stale.
        if xml.stem in images:
            return images[xml.stem]
        name, _ = parse_kaist_xml(xml)
        if name and image_in(xml.parent, name, xml).exists():
            return xml.parent / name
        raise FileNotFound(f"no image for {xml.name} (looked for {xml.stem}.* and {name!r})", xml.parent)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PageSample]:
        for image, xml in self.items:
            yield PageSample(image=read_rgb(image), words=parse_kaist_xml(xml)[1], source=str(image))
