"""PyTorch datasets over crops: map-style over LMDB or manifest files, iterable over on-the-fly synthetic
lines.

This is the only data module that imports torch. Items are ``CropSample``s; pass
``collate_fn=collate_samples`` (or the trainer's own) to a DataLoader, since the default collate cannot stack
images of different widths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from textlens.data.charset import Charset
from textlens.data.lmdb_store import LmdbReader, is_lmdb
from textlens.data.manifest import ManifestRecord, read_manifest
from textlens.data.samples import CropSample
from textlens.data.synth.lines import LineRenderer
from textlens.data.synth.presets import Preset
from textlens.errors import AnnotationError

Transform = Callable[[CropSample], Any]

# Workers and epochs get disjoint seed streams: the seed sequence hashes (base, epoch, rank, worker) together.
_SEED_STRIDE = 1_000_003


def collate_samples(batch: list[Any]) -> list[Any]:
    """Keep the batch as a list (crops differ in width; the trainer pads them)."""
    return batch


class CropDataset(Dataset):  # type: ignore[type-arg]
    """Random access to the crops of an LMDB store (a folder with ``data.mdb`` or a sharded root) or a
    manifest."""

    def __init__(self, source: str | Path, transform: Transform | None = None) -> None:
        self.source = Path(source)
        self.transform = transform
        self._lmdb: LmdbReader | None = None
        self._records: list[ManifestRecord] = []
        if is_lmdb(self.source):
            self._lmdb = LmdbReader(self.source)
        else:
            self._records = [r for r in read_manifest(self.source) if r.kind == "crop"]
            if not self._records:
                raise AnnotationError("the manifest has no crop records (lines with 'text')", source=self.source)

    def __len__(self) -> int:
        return len(self._lmdb) if self._lmdb is not None else len(self._records)

    def __getitem__(self, index: int) -> Any:
        if self._lmdb is not None:
            sample = self._lmdb[index]
        else:
            record = self._records[index]
            sample = CropSample(image=record.load_image(), text=record.text or "", source=str(record.image))
        return self.transform(sample) if self.transform else sample


def _rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return 0


class SynthLineIterable(IterableDataset):  # type: ignore[type-arg]
    """An endless (or ``length``-long) stream of synthetic crops, different in every worker, rank and epoch.

    Each DataLoader worker seeds its own generator from (seed, epoch, rank, worker id), so no two workers
    repeat each other's samples; call ``set_epoch`` between epochs for fresh data (Lightning's loops do not do
    it for iterable datasets). ``length`` is split evenly over the workers.
    """

    def __init__(
        self,
        preset: str | Preset = "mixed",
        charset: str | Charset | None = None,
        fonts: str | Sequence[str] = "train",
        seed: int = 0,
        length: int | None = None,
        height: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        super().__init__()
        self.renderer = LineRenderer(preset=preset, charset=charset, fonts=fonts, height=height, seed=seed)
        self.seed = seed
        self.length = length
        self.transform = transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an endless SynthLineIterable has no length; pass length=")
        return self.length

    def worker_seed(self, worker_id: int, rank: int = 0) -> int:
        """The seed of one worker's stream: base + worker/rank stride + epoch (documented for
        reproducibility)."""
        return self.seed + (rank * 1024 + worker_id) * _SEED_STRIDE + self.epoch

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker_id, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rng = np.random.default_rng(self.worker_seed(worker_id, _rank()))
        if self.length is None:
            count: int | None = None
        else:
            count = self.length // num_workers + (1 if worker_id < self.length % num_workers else 0)
        produced = 0
        while count is None or produced < count:
            sample = self.renderer.sample(rng)
            produced += 1
            yield self.transform(sample) if self.transform else sample
