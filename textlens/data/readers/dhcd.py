"""The Devanagari Handwritten Character Dataset (DHCD): ``Train/`` and ``Test/`` with a folder per class.

Folders are named ``digit_<n>`` and ``character_<nn>_<name>``; the label is the Devanagari character
(digits ०–९, the 36 consonant classes below, three of them conjuncts) and the folder name when unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    IMAGE_SUFFIXES,
    DatasetReader,
    existing_dir,
    register_reader,
)
from textlens.data.samples import LabelSample
from textlens.errors import FileNotFound

DEVANAGARI_DIGITS = "०१२३४५६७८९"

# DHCD class number → character, in the dataset's order (ka, kha, ga, ... ksha, tra, gya).
DEVANAGARI_CONSONANTS: dict[int, str] = dict(
    enumerate(
        [
            "क",
            "ख",
            "ग",
            "घ",
            "ङ",
            "च",
            "छ",
            "ज",
            "झ",
            "ञ",
            "ट",
            "ठ",
            "ड",
            "ढ",
            "ण",
            "त",
            "थ",
            "द",
            "ध",
            "न",
            "प",
            "फ",
            "ब",
            "भ",
            "म",
            "य",
            "र",
            "ल",
            "व",
            "श",
            "ष",
            "स",
            "ह",
            "क्ष",
            "त्र",
            "ज्ञ",
        ],
        start=1,
    )
)

_DIGIT = re.compile(r"^digit_(\d)$")
_CHARACTER = re.compile(r"^character_(\d+)(?:_.*)?$")


def dhcd_character(folder_name: str) -> str | None:
    """The Devanagari character of a DHCD class folder, or None for an unknown name."""
    if match := _DIGIT.match(folder_name):
        return DEVANAGARI_DIGITS[int(match.group(1))]
    if match := _CHARACTER.match(folder_name):
        return DEVANAGARI_CONSONANTS.get(int(match.group(1)))
    return None


@register_reader
class DhcdReader(DatasetReader[LabelSample]):
    """DHCD class folders → ``LabelSample`` (label: the character; ``label_mode="folder"`` keeps the name)."""

    name: ClassVar[str] = "dhcd"
    kind = "label"
    description = "Devanagari DHCD: Train|Test/<digit_0|character_01_ka>/*.png → LabelSample"
    aliases = ("devanagari",)

    def __init__(self, path: str | Path, split: str = "train", label_mode: Literal["char", "folder"] = "char") -> None:
        root = existing_dir(path)
        candidates = (root / n for n in (split, split.capitalize(), split.upper()))
        split_dir = next((d for d in candidates if d.is_dir()), root)
        self.root = split_dir
        self.label_mode = label_mode
        folders = sorted(d for d in split_dir.iterdir() if d.is_dir())
        self.classes = {d.name: dhcd_character(d.name) or d.name for d in folders}
        self.items = [
            (image, cls)
            for cls in self.classes
            for image in sorted((split_dir / cls).iterdir(), key=lambda p: (len(p.stem), p.stem))
            if image.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not self.items:
            raise FileNotFound("no class folders with images (like Train/digit_0/*.png)", split_dir)

    def label_of(self, folder_name: str) -> str:
        return folder_name if self.label_mode == "folder" else self.classes[folder_name]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[LabelSample]:
        for image, cls in self.items:
            yield LabelSample(image=read_rgb(image), label=self.label_of(cls), source=str(image))
