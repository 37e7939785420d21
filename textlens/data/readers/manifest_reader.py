"""The textlens manifest (JSONL, see ``textlens.data.manifest``) as a dataset reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from textlens.data.manifest import ManifestRecord, iter_manifest
from textlens.data.readers.base import DatasetReader, existing_path, register_reader
from textlens.data.samples import CropSample, LabelSample, PageSample

Sample = CropSample | PageSample | LabelSample


@register_reader
class ManifestReader(DatasetReader[Sample]):
    """A manifest file (or a folder holding ``manifest.jsonl``) → the samples its lines describe."""

    name: ClassVar[str] = "manifest"
    description = "textlens manifest: manifest.jsonl (crops, pages or labels) → any sample type"
    aliases = ("jsonl",)

    def __init__(self, path: str | Path, limit: int | None = None) -> None:
        path = existing_path(path, "manifest")
        self.path = path / "manifest.jsonl" if path.is_dir() else path
        self.limit = limit
        first = next(iter_manifest(self.path, limit=1), None)
        self.kind = first.kind if first else "crop"
        self._count: int | None = None

    def records(self) -> Iterator[ManifestRecord]:
        """The parsed lines, images not loaded."""
        return iter_manifest(self.path, self.limit)

    def __len__(self) -> int:
        if self._count is None:
            # Counted as bytes: a line that is not UTF-8 is reported, at file:line, when the records are read.
            with existing_path(self.path, "manifest").open("rb") as fh:
                count = sum(1 for line in fh if line.strip())
            self._count = count if self.limit is None else min(count, self.limit)
        return self._count

    def __iter__(self) -> Iterator[Sample]:
        for record in self.records():
            yield record.to_sample()
