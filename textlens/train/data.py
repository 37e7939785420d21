"""Recognition batches: prepared, width-bucketed, padded crops with their CTC or attention targets.

Training streams endlessly (an IterableDataset that mixes sources by weight, drops unusable labels,
buckets crops of similar width and yields whole batches, resumable at any step: ``textlens.train.stream``);
validation is a plain indexed dataset.
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
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from textlens.data.charset import AttentionTokenizer, Charset, CTCTokenizer, DecoderKind
from textlens.data.samples import CropSample
from textlens.errors import ConfigError
from textlens.runtime.crops import CropSpec, pad_batch, prepare_crop
from textlens.train.common import loader_options
from textlens.train.sources import CropSource, IndexedSource, augment_crop
from textlens.train.stream import BlockStream, block_slots, stream_fingerprint, stream_place

# (C×H×W array, cleaned text, whether the text's letter case is to be learnt)
Prepared = tuple[np.ndarray, str, bool]


@dataclass(frozen=True)
class LabelRules:
    """Which labels a model can learn: charset, decoder kind, maximum length, time stride."""

    charset: Charset
    decoder: DecoderKind
    max_len: int = 25
    time_stride: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", DecoderKind.parse(self.decoder))  # "ctc" from callers is accepted

    def clean(self, text: str) -> str:
        return self.charset.filter(text).strip()

    def fits(self, text: str, width: int) -> bool:
        """Non-empty and learnable: CTC needs a time step per character plus one between repeats."""
        if not text:
            return False
        if self.decoder is DecoderKind.CTC:
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
    if rules.decoder is DecoderKind.CTC:
        tok = CTCTokenizer(rules.charset)
        ids = [tok.encode(t) for t in texts]
        batch["targets"] = torch.tensor([i for seq in ids for i in seq], dtype=torch.long)
        batch["target_lengths"] = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
    else:
        attn = AttentionTokenizer(rules.charset)
        # Parallel decoders predict a fixed max_len+1 slots; autoregressive ones only need the longest text.
        length = rules.max_len if rules.decoder is DecoderKind.PARALLEL else max(len(t) for t in texts)
        batch["targets"] = torch.tensor([attn.encode(t, length) for t in texts], dtype=torch.long)
    return batch


class TrainStream(BlockStream):
    """Endless batches: sources mixed by weight, crops bucketed by width to keep padding small.

    A block (``textlens.train.stream``) is one bucket pool: ``batch_size × bucket_batches`` crops drawn by
    weight, sorted by width, cut into batches that leave in a random order. Its index alone decides it, so a
    resumed run continues the stream exactly.
    """

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
        super().__init__(seed, bucket_batches)
        self.sources, self.spec, self.rules = list(sources), spec, rules
        self.weights = np.asarray(weights, np.float64) / float(np.sum(weights))
        self.batch_size = batch_size

    def make_block(self, block: int) -> list[dict[str, Any]]:
        cv2.setNumThreads(1)  # the workers are the parallelism; OpenCV threads would oversubscribe
        rng = self.rng(block)
        pool_size = self.batch_size * self.batches_per_block
        order, starts, counts = block_slots(self.weights, pool_size, block, rng)
        readers = [
            source.reader(starts[k], counts[k], self.reader_rng(block, k), self.pass_seed(k))
            for k, source in enumerate(self.sources)
        ]
        pool = sorted((self._usable(k, readers[k], rng) for k in order), key=lambda item: item[0].shape[2])
        chunks = [pool[i : i + self.batch_size] for i in range(0, pool_size, self.batch_size)]
        return [collate(chunks[int(j)], self.spec, self.rules) for j in rng.permutation(len(chunks))]

    def _usable(self, k: int, reader: Iterator[CropSample], rng: np.random.Generator) -> Prepared:
        """The next crop of source ``k`` that the model can learn (the reader replaces the others)."""
        source = self.sources[k]
        for _ in range(10_000):
            item = prepare(next(reader), self.spec, self.rules, rng, source.augment, source.frame, source.case_known)
            if item is not None:
                return item
        raise ConfigError(
            f"{source}: 10000 samples in a row had no usable label for the charset/length limits; "
            "check --charset and the data"
        )


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

    def _loader_options(self, prefetch: int = 4) -> dict[str, Any]:
        return loader_options(self.workers, prefetch, self.pin_memory, lower_worker_priority)

    def train_dataloader(self) -> DataLoader:
        """The stream from the batch the trainer is at: 0, or the global step a resumed run restored."""
        stream = TrainStream(self.train_sources, self.weights, self.spec, self.rules, self.batch_size, self.seed)
        stream.place(*stream_place(self.trainer))
        # Workers hand out whole blocks (8 batches each): two per worker keep as much ready as before.
        return stream.loader(**self._loader_options(prefetch=2))

    def fingerprint(self, ranks: int) -> dict[str, Any]:
        """What decides the training stream on ``ranks`` ranks (see ``textlens.train.resume``)."""
        return stream_fingerprint(self.seed, self.batch_size, self.train_sources, self.weights, ranks)

    def state_dict(self) -> dict[str, Any]:
        # Saved in checkpoints so that --resume can warn when the options would draw another stream.
        return {"stream": self.fingerprint(self.trainer.world_size if self.trainer is not None else 1)}

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
