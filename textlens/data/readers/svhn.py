"""SVHN: format 1 (full house-number images + ``digitStruct.mat``) and format 2 (``*_32x32.mat`` digits).

Format 1's ``digitStruct.mat`` is a MATLAB v7.3 file (HDF5, read with h5py): ``digitStruct/name`` and
``digitStruct/bbox`` hold object references; each bbox field (label, left, top, width, height) is a 1×1 value
for a single digit and a column of references for several. Label 10 means the digit 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from textlens.data.manifest import read_rgb
from textlens.data.readers.base import (
    DatasetReader,
    PageDatasetReader,
    existing_file,
    existing_path,
    image_in,
    register_reader,
)
from textlens.data.readers.crops import crop_box
from textlens.data.samples import CropSample, LabelSample, PageSample, WordAnnotation
from textlens.document import union_box
from textlens.errors import AnnotationError, UnsupportedFormat

_BBOX_FIELDS = ("label", "left", "top", "width", "height")


def _digit(label: float) -> str:
    value = round(label)
    return "0" if value == 10 else str(value)


@dataclass(frozen=True)
class SvhnEntry:
    """One image of format 1: its file and its digits as (digit, box)."""

    image: Path
    digits: tuple[tuple[str, tuple[float, float, float, float]], ...]


def _field_values(h5file: Any, dataset: Any) -> list[float]:
    """A bbox field: a 1×1 value (one digit) or a column of references to 1×1 values (several)."""
    if dataset.dtype.kind == "O":
        return [float(np.asarray(h5file[ref]).reshape(-1)[0]) for ref in np.asarray(dataset).reshape(-1)]
    return [float(v) for v in np.asarray(dataset).reshape(-1)]


def read_digit_struct(path: str | Path) -> list[SvhnEntry]:
    """Parse ``digitStruct.mat`` into entries whose images sit next to it."""
    import h5py

    path = existing_file(path, "digitStruct.mat")
    try:
        h5file = h5py.File(path, "r")
    except OSError as exc:
        raise UnsupportedFormat(f"not a MATLAB v7.3 (HDF5) file ({exc})", path) from exc
    with h5file:
        if "digitStruct" not in h5file or not {"name", "bbox"} <= set(h5file["digitStruct"]):
            raise AnnotationError("no digitStruct/name and digitStruct/bbox in the file", path)
        names = np.asarray(h5file["digitStruct/name"]).reshape(-1)
        boxes = np.asarray(h5file["digitStruct/bbox"]).reshape(-1)
        if len(names) != len(boxes):
            raise AnnotationError(f"{len(names)} names but {len(boxes)} bboxes", path)
        pairs = enumerate(zip(names, boxes, strict=True))
        return [_entry(h5file, path, i, name_ref, box_ref) for i, (name_ref, box_ref) in pairs]


def _entry(h5file: Any, path: Path, index: int, name_ref: Any, box_ref: Any) -> SvhnEntry:
    name = "".join(chr(int(c)) for c in np.asarray(h5file[name_ref]).reshape(-1))
    group = h5file[box_ref]
    missing = [f for f in _BBOX_FIELDS if f not in group]
    if missing:
        raise AnnotationError(f"entry {index} ({name}): bbox lacks {', '.join(missing)}", path)
    fields = {f: _field_values(h5file, group[f]) for f in _BBOX_FIELDS}
    counts = {len(v) for v in fields.values()}
    if len(counts) != 1:
        raise AnnotationError(f"entry {index} ({name}): bbox fields have different lengths", path)
    digits = tuple(
        (_digit(label), (left, top, left + width, top + height))
        for label, left, top, width, height in zip(*(fields[f] for f in _BBOX_FIELDS), strict=True)
    )
    return SvhnEntry(image=image_in(path.parent, name, path), digits=digits)


@register_reader
class SvhnFullReader(PageDatasetReader):
    """SVHN format 1 → ``PageSample`` with one box per digit; ``crops()`` gives the whole number."""

    name: ClassVar[str] = "svhn_full"
    description = "SVHN format 1: digitStruct.mat (HDF5) + PNGs → PageSample (per-digit boxes)"
    aliases = ("svhn1", "svhn_format1")

    def __init__(self, path: str | Path, margin: float = 0.0) -> None:
        path = existing_path(path)
        self.annotation = path / "digitStruct.mat" if path.is_dir() else path
        self.entries = read_digit_struct(self.annotation)
        self.margin = margin

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[PageSample]:
        for entry in self.entries:
            words = tuple(WordAnnotation(text=d, box=box) for d, box in entry.digits)
            yield PageSample(image=read_rgb(entry.image), words=words, source=str(entry.image))

    def crops_of(self, page: PageSample, skip_dont_care: bool = True) -> Iterator[CropSample]:
        """One crop per image: the union of its digit boxes (grown by ``margin``) with the whole number."""
        if not page.words:
            return
        crop = crop_box(page.image, union_box(w.box for w in page.words), self.margin)
        if crop is not None:
            yield CropSample(image=crop, text="".join(w.text for w in page.words), source=page.source)


@register_reader
class SvhnCroppedReader(DatasetReader[LabelSample]):
    """SVHN format 2 (``train_32x32.mat``: X 32×32×3×N, y N×1 with 10 for 0) → ``LabelSample``."""

    name: ClassVar[str] = "svhn_cropped"
    kind = "label"
    description = "SVHN format 2: *_32x32.mat (X, y) → LabelSample"
    aliases = ("svhn2", "svhn_format2")

    def __init__(self, path: str | Path) -> None:
        from scipy.io import loadmat

        self.path = existing_file(path, "SVHN .mat file")
        try:
            mat = loadmat(self.path)
        except (ValueError, OSError, NotImplementedError) as exc:
            raise UnsupportedFormat(f"cannot read as a MATLAB file ({exc})", self.path) from exc
        if "X" not in mat or "y" not in mat:
            raise AnnotationError("expected variables X and y", self.path)
        self.images = np.asarray(mat["X"], dtype=np.uint8)
        self.labels = np.asarray(mat["y"]).reshape(-1)
        if self.images.ndim != 4 or self.images.shape[2] != 3 or self.images.shape[3] != len(self.labels):
            expected = f"H×W×3×{len(self.labels)}"
            raise AnnotationError(f"X has shape {self.images.shape}, expected {expected}", self.path)

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[LabelSample]:
        for index, label in enumerate(self.labels):
            image = np.ascontiguousarray(self.images[:, :, :, index])
            yield LabelSample(image=image, label=_digit(float(label)), source=f"{self.path}#{index}")
