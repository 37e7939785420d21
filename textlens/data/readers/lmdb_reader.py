"""LMDB recognition datasets (``num-samples``, ``image-%09d``, ``label-%09d``) in the reader registry.

The storage itself (one environment or a folder of shards, read-only, lazily opened) is
``textlens.data.lmdb_store.LmdbReader``; this module only gives it the reader interface. ``lmdb`` is imported
when such a dataset is opened, not when the registry loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from textlens.data.readers.base import DatasetReader, existing_dir, register_reader
from textlens.data.samples import CropSample


@register_reader
class LmdbDatasetReader(DatasetReader[CropSample]):
    """A recognition LMDB (or a folder of LMDB shards) → ``CropSample``; ``reader[i]`` is 0-based."""

    name: ClassVar[str] = "lmdb"
    kind = "crop"
    description = "LMDB (num-samples, image-%09d, label-%09d; one env or shards) → CropSample"

    def __init__(self, path: str | Path) -> None:
        from textlens.data.lmdb_store import LmdbReader

        self.store = LmdbReader(existing_dir(path, "LMDB folder"))

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: int) -> CropSample:
        return self.store[index]

    def __iter__(self) -> Iterator[CropSample]:
        for index in range(len(self.store)):
            yield self.store[index]
