"""Recognition batches: prepared, width-bucketed, padded crops with their CTC or attention targets.

Training streams endlessly (an IterableDataset that mixes sources by weight, drops unusable labels,
buckets crops of similar width and yields whole batches); validation is a plain indexed dataset.
Both prepare pixels with ``textlens.runtime.crops``, exactly as inference does.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, IterableDataset, get_worker_info

from textlens.data.charset import AttentionTokenizer, Charset, CTCTokenizer
from textlens.data.samples import CropSample
from textlens.errors import ConfigError
from textlens.runtime.crops import CropSpec, pad_batch, prepare_crop
from textlens.train.sources import CropSource, IndexedSource, augment_crop

# (C×H×W array, cleaned text, whether the text's letter case is to be learnt)
Prepared = tuple[np.ndarray, str, bool]


@dataclass(frozen=True)
class LabelRules:
    """Which labels a model can learn: charset, decoder kind, maximum length, time stride."""

    charset: Charset
    decoder: str  # "ctc" | "attention" | "parallel"
    max_len: int = 25
    time_stride: int = 4

    def clean(self, text: str) -> str:
        return self.charset.filter(text).strip()

    def fits(self, text: str, width: int) -> bool:
        """Non-empty and learnable: CTC needs a time step per character plus one between repeats."""
        if not text:
            return False
        if self.decoder == "ctc":
            repeats = sum(a == b for a, b in itertools.pairwise(text))
            return len(text) + repeats <= width // self.time_stride
        return len(text) <= self.max_len


def prepare(
    sample: CropSample,
    spec: CropSpec,
    rules: LabelRules,
    rng: np.random.Generator | None = None,
    augment: bool = False,
    frame: str = "box",
    case_known: bool = True,
) -> Prepared | None:
    """A sample as (C×H×W array, cleaned text, ``case_known``), or None when it cannot be learned
    (``frame``, ``case_known``: see CropSource)."""
    text = rules.clean(sample.text)
    image = sample.image
    if not text or image.ndim < 2 or image.shape[0] < 2 or image.shape[1] < 2:
        return None
    if augment and rng is not None:
        image = augment_crop(image, rng, frame)
    array = prepare_crop(image, spec)
    return (array, text, case_known) if rules.fits(text, array.shape[2]) else None


def collate(items: Sequence[Prepared], spec: CropSpec, rules: LabelRules) -> dict[str, Any]:
    """Pad to the widest crop; CTC targets concatenated, attention targets as [SOS] text [EOS] PAD…"""
    images = torch.from_numpy(pad_batch([item[0] for item in items], spec))
    texts = [item[1] for item in items]
    batch: dict[str, Any] = {
        "images": images,
        "texts": texts,
        "widths": torch.tensor([item[0].shape[2] for item in items], dtype=torch.long),
    }
    if not all(item[2] for item in items):
        batch["case_unknown"] = torch.tensor([not item[2] for item in items], dtype=torch.bool)
    if rules.decoder == "ctc":
        tok = CTCTokenizer(rules.charset)
        ids = [tok.encode(t) for t in texts]
        batch["targets"] = torch.tensor([i for seq in ids for i in seq], dtype=torch.long)
        batch["target_lengths"] = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
    else:
        attn = AttentionTokenizer(rules.charset)
        # Parallel decoders predict a fixed max_len+1 slots; autoregressive ones only need the longest text.
        length = rules.max_len if rules.decoder == "parallel" else max(len(t) for t in texts)
        batch["targets"] = torch.tensor([attn.encode(t, length) for t in texts], dtype=torch.long)
    return batch


def _stream_seed(seed: int) -> int:
    """Distinct per distributed rank and DataLoader worker, so no two processes draw the same stream."""
    info = get_worker_info()
    worker = info.id if info is not None else 0
    rank = (
        torch.distributed.get_rank()
        if torch.distributed.is_available() and torch.distributed.is_initialized()
        else int(os.environ.get("RANK", 0))
    )
    return seed * 1_000_003 + rank * 1009 + worker


class TrainStream(IterableDataset):
    """Endless batches: sources mixed by weight, crops bucketed by width to keep padding small."""

    def __init__(
        self,
        sources: Sequence[CropSource],
        weights: Sequence[float],
        spec: CropSpec,
        rules: LabelRules,
        batch_size: int,
        seed: int = 0,
        bucket_batches: int = 8,
    ) -> None:
        if not sources:
            raise ConfigError("no training data: give at least one --data source")
        self.sources, self.spec, self.rules = list(sources), spec, rules
        self.weights = np.asarray(weights, np.float64) / float(np.sum(weights))
        self.batch_size, self.seed, self.bucket_batches = batch_size, seed, bucket_batches

    def samples(self, rng: np.random.Generator) -> Iterator[Prepared]:
        streams = [s.stream(np.random.default_rng(rng.integers(2**63))) for s in self.sources]
        dropped = 0
        while True:
            k = int(rng.choice(len(streams), p=self.weights))
            source = self.sources[k]
            item = prepare(
                next(streams[k]), self.spec, self.rules, rng, source.augment, source.frame, source.case_known
            )
            if item is not None:
                dropped = 0
                yield item
            else:
                dropped += 1
                if dropped > 10_000:
                    raise ConfigError(
                        f"{self.sources[k]}: 10000 samples in a row had no usable label for the "
                        "charset/length limits; check --charset and the data"
                    )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        cv2.setNumThreads(1)  # the workers are the parallelism; OpenCV threads would oversubscribe
        rng = np.random.default_rng(_stream_seed(self.seed))
        samples = self.samples(rng)
        pool_size = self.batch_size * self.bucket_batches
        while True:
            pool = sorted((next(samples) for _ in range(pool_size)), key=lambda item: item[0].shape[2])
            chunks = [pool[i : i + self.batch_size] for i in range(0, pool_size, self.batch_size)]
            for j in rng.permutation(len(chunks)):
                yield collate(chunks[int(j)], self.spec, self.rules)


class _IndexedCrops(Dataset):
    def __init__(self, source: IndexedSource) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> CropSample:
        return self.source[index]


class ValCollate:
    """Validation batches keep the true (unfiltered) text, for honest metrics; unusable crops are dropped."""

    def __init__(self, spec: CropSpec, rules: LabelRules) -> None:
        self.spec, self.rules = spec, rules

    def __call__(self, samples: Sequence[CropSample]) -> dict[str, Any] | None:
        items = []
        for s in samples:
            if s.text.strip() and s.image.ndim >= 2 and min(s.image.shape[:2]) >= 2:
                items.append((prepare_crop(s.image, self.spec), s.text))
        if not items:
            return None
        return {
            "images": torch.from_numpy(pad_batch([a for a, _ in items], self.spec)),
            "texts": [t for _, t in items],
            "widths": torch.tensor([a.shape[2] for a, _ in items], dtype=torch.long),
        }


# Loader workers run at this much lower priority than the trainer. On a small CPU the trainer's OpenMP
# threads wait for each other at every parallel region, so a worker taking a core at the wrong moment
# stalls them all; niced, it renders in the gaps and the prefetched batches keep the trainer fed. Measured
# on 2 cores, the default recipe, 150 steps, twice each: 56.0 / 62.9 samples/s plain, 57.7 / 64.2 niced.
WORKER_NICENESS = 10


def lower_worker_priority(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: lower the worker's scheduling priority by WORKER_NICENESS."""
    if WORKER_NICENESS > 0 and hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


def default_workers(accelerator: str) -> int:
    cpus = os.cpu_count() or 1
    return min(4, max(cpus - 1, 0)) if accelerator == "cuda" else 1


class RecognitionDataModule(pl.LightningDataModule):
    """Train stream and validation set for one model's crop spec and label rules."""

    def __init__(
        self,
        train: Sequence[CropSource],
        weights: Sequence[float],
        val: Sequence[IndexedSource],
        spec: CropSpec,
        rules: LabelRules,
        batch_size: int = 64,
        workers: int = 1,
        seed: int = 0,
        val_batch_size: int | None = None,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.train_sources, self.weights, self.val_sources = list(train), list(weights), list(val)
        self.spec, self.rules, self.batch_size, self.workers, self.seed = (
            spec,
            rules,
            batch_size,
            workers,
            seed,
        )
        self.val_batch_size = val_batch_size or batch_size
        self.pin_memory = pin_memory

    def _loader_options(self) -> dict[str, Any]:
        if self.workers <= 0:
            return {"num_workers": 0}
        return {
            "num_workers": self.workers,
            "persistent_workers": True,
            "prefetch_factor": 4,
            "pin_memory": self.pin_memory,
            "worker_init_fn": lower_worker_priority,
        }

    def train_dataloader(self) -> DataLoader:
        stream = TrainStream(self.train_sources, self.weights, self.spec, self.rules, self.batch_size, self.seed)
        return DataLoader(stream, batch_size=None, **self._loader_options())

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_sources:
            return []
        dataset = ConcatDataset([_IndexedCrops(s) for s in self.val_sources])
        return DataLoader(
            dataset,
            batch_size=self.val_batch_size,
            shuffle=False,
            collate_fn=ValCollate(self.spec, self.rules),
            **self._loader_options(),
        )
