"""Glimpse training data: the digit tasks of a run (``textlens.data.digits``), their batches as tensors with
RAM / DRAM targets, and the loaders.

Sample ``i`` of a task is a function of ``i`` alone, so the training batches are numbered slices of the
sample sequence; a resumed run's loader starts at the sample its checkpoint's run had reached.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from textlens.data.digits import DigitTask, MnistSplits, SvhnTask, build_task, task_spec
from textlens.train.common import default_workers
from textlens.train.glimpse_config import GlimpseTrainConfig
from textlens.train.stream import StepAwareLoader

# The DRAM target of the positions after a string's end token: no loss there.
IGNORE = -100
# Samples per validation batch.
VAL_BATCH = 256


def encode_targets(texts: list[str], arch: str, max_length: int) -> Tensor:
    """RAM: the class index per sample; DRAM: B×(max_length+1) digits, the end token (10), then IGNORE."""
    if arch == "ram":
        return torch.tensor([int(t) for t in texts], dtype=torch.long)
    out = torch.full((len(texts), max_length + 1), IGNORE, dtype=torch.long)
    for row, text in enumerate(texts):
        digits = [int(c) for c in text[:max_length]]
        out[row, : len(digits)] = torch.tensor(digits, dtype=torch.long)
        out[row, len(digits)] = 10
    return out


def image_tensor(images: Any) -> Tensor:
    """A task's uint8 images (B×H×W) as the models read them: B×1×H×W floats in 0..1."""
    return torch.from_numpy(images).unsqueeze(1).float().div_(255.0)


class GlimpseBatches(Dataset):
    """Batch ``b`` of a task: samples ``start + b·B`` to ``start + (b+1)·B - 1`` as tensors (item = batch)."""

    def __init__(
        self,
        task: DigitTask | SvhnTask,
        batch_size: int,
        batches: int,
        arch: str,
        start: int = 0,
        total: int | None = None,
    ) -> None:
        self.task, self.batch_size, self.batches, self.arch, self.start = (
            task,
            batch_size,
            batches,
            arch,
            start,
        )
        self.total = total  # a fixed set's size: the last batch is cut there

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> dict[str, Any]:
        first = self.start + index * self.batch_size
        last = first + self.batch_size if self.total is None else min(first + self.batch_size, self.total)
        images, texts = self.task.batch(range(first, last))
        return {
            "images": image_tensor(images),
            "texts": texts,
            "targets": encode_targets(texts, self.arch, self.task.spec.max_length),
        }


def build_tasks(cfg: GlimpseTrainConfig) -> tuple[DigitTask | SvhnTask, DigitTask | SvhnTask]:
    """The run's training and validation tasks (MNIST from ``cfg.data``, else ``$TEXTLENS_DATA/mnist``)."""
    spec = task_spec(cfg.task)
    data = cfg.data
    if spec.name == "svhn":
        return build_task("svhn", "train", data, cfg.seed), build_task("svhn", "val", data, cfg.seed)
    from textlens.data.digits import default_mnist, load_mnist_splits

    splits: MnistSplits = load_mnist_splits(Path(data) if data else default_mnist(), cfg.holdout)
    return (
        build_task(cfg.task, "train", seed=cfg.seed, splits=splits, jitter=cfg.jitter),
        build_task(cfg.task, "val", seed=cfg.seed, splits=splits),
    )


def build_loaders(
    cfg: GlimpseTrainConfig,
    train: DigitTask | SvhnTask,
    val: DigitTask | SvhnTask,
    steps: int,
    start: int,
    accelerator: str,
) -> tuple[DataLoader, DataLoader]:
    """Loaders of ``steps`` training batches from sample ``start`` on, and of the first ``cfg.val_size``
    validation samples."""
    workers = cfg.workers if cfg.workers is not None else default_workers(accelerator, on_cpu=0)
    val_count = min(cfg.val_size, len(val))
    common: dict[str, Any] = {
        "batch_size": None,
        "num_workers": workers,
        "persistent_workers": workers > 0,
        "pin_memory": accelerator == "cuda",
    }
    # The batches start at sample ``start`` (those a resumed run drew already are behind it).
    train_batches = GlimpseBatches(train, cfg.batch, steps, cfg.arch, start=start)
    train_loader = StepAwareLoader(train_batches, shuffle=False, **common)
    val_loader = DataLoader(
        GlimpseBatches(val, VAL_BATCH, math.ceil(val_count / VAL_BATCH), cfg.arch, total=val_count),
        shuffle=False,
        **common,
    )
    return train_loader, val_loader
