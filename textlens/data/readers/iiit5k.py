"""IIIT 5K-Words: ``testdata.mat`` / ``traindata.mat`` (ImgName, GroundTruth, smallLexi, mediumLexi)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import DatasetReader, existing_path, image_in, register_reader
from textlens.data.samples import CropSample
from textlens.errors import AnnotationError, UnsupportedFormat


@dataclass(frozen=True)
class IiitEntry:
    """One word crop with its small (50) and medium (1000) lexicons."""

    image: Path
    text: str
    small_lexicon: tuple[str, ...]
    medium_lexicon: tuple[str, ...]


def _strings(value: Any) -> tuple[str, ...]:
    """A MATLAB cell of strings (as loadmat returns it, possibly nested one level) → tuple of str."""
    if value is None:
        return ()
    flat = np.asarray(value, dtype=object).reshape(-1)
    out: list[str] = []
    for item in flat:
        if isinstance(item, str):
            out.append(item)
        else:
            out.extend(_strings(item))
    return tuple(out)


def _scalar_string(value: Any) -> str:
    found = _strings(value)
    return found[0] if found else ""


def read_iiit5k_mat(path: Path) -> list[IiitEntry]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except (ValueError, OSError, NotImplementedError) as exc:
        raise UnsupportedFormat(f"cannot read as a MATLAB file ({exc})", path) from exc
    keys = [k for k in mat if not k.startswith("__")]
    if len(keys) != 1:
        raise AnnotationError(f"expected one struct variable (testdata or traindata), found {keys}", path)
    table = mat[keys[0]]
    fields = table.dtype.names or ()
    if "ImgName" not in fields or "GroundTruth" not in fields:
        raise AnnotationError(f"struct {keys[0]!r} lacks ImgName/GroundTruth (fields: {list(fields)})", path)
    entries = []
    for index, row in enumerate(table.reshape(-1)):
        name = _scalar_string(row["ImgName"])
        if not name:
            raise AnnotationError(f"entry {index} has an empty ImgName", path)
        entries.append(
            IiitEntry(
                image=image_in(path.parent, name, path),
                text=_scalar_string(row["GroundTruth"]),
                small_lexicon=_strings(row["smallLexi"]) if "smallLexi" in fields else (),
                medium_lexicon=_strings(row["mediumLexi"]) if "mediumLexi" in fields else (),
            )
        )
    return entries


@register_reader
class Iiit5kReader(DatasetReader[CropSample]):
    """IIIT5K → ``CropSample``; lexicons via ``entries[i].small_lexicon`` / ``medium_lexicon``."""

    name: ClassVar[str] = "iiit5k"
    kind = "crop"
    description = "IIIT 5K-Words: testdata.mat/traindata.mat + word images → CropSample (lexicons kept)"

    def __init__(self, path: str | Path, split: str = "test") -> None:
        path = existing_path(path)
        self.annotation = existing_path(path / f"{split}data.mat" if path.is_dir() else path, "IIIT5K .mat file")
        self.entries = read_iiit5k_mat(self.annotation)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[CropSample]:
        for entry in self.entries:
            yield CropSample(image=read_rgb(entry.image), text=entry.text, source=str(entry.image))
