"""Tests for the torch datasets: per-worker seeding of the synthetic stream and the map-style crop dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader

from textlens.data.lmdb_store import write_lmdb
from textlens.data.manifest import ManifestWriter
from textlens.data.samples import CropSample
from textlens.data.torch_data import CropDataset, SynthLineIterable, collate_samples


def _texts(dataset: SynthLineIterable, workers: int) -> list[str]:
    loader = DataLoader(dataset, batch_size=2, num_workers=workers, collate_fn=collate_samples)
    return [s.text for batch in loader for s in batch]


def test_workers_produce_different_samples() -> None:
    dataset = SynthLineIterable(preset="scene", seed=4, length=8, height=16)
    texts = _texts(dataset, workers=2)
    assert len(texts) == 8
    half = len(texts) // 2
    first_worker, second_worker = texts[0::4] + texts[1::4], texts[2::4] + texts[3::4]
    assert len(first_worker) == half and first_worker != second_worker
    assert len(set(texts)) >= 6


def test_stream_is_reproducible_and_changes_with_epoch() -> None:
    dataset = SynthLineIterable(preset="receipt", seed=1, length=4, height=16)
    first = [s.text for s in dataset]
    assert first == [s.text for s in dataset]
    dataset.set_epoch(1)
    assert first != [s.text for s in dataset]


def test_worker_seeds_are_distinct() -> None:
    dataset = SynthLineIterable(seed=10, length=1)
    seeds = {dataset.worker_seed(w, r) for w in range(4) for r in range(2)}
    assert len(seeds) == 8


def test_crop_dataset_reads_lmdb_and_manifest(tmp_path: Path) -> None:
    samples = [CropSample(image=np.full((6, 9, 3), i * 20, np.uint8), text=f"t{i}") for i in range(3)]
    write_lmdb(tmp_path / "db", samples)
    with ManifestWriter(tmp_path / "m") as writer:
        for s in samples:
            writer.add(s)
    for source in (tmp_path / "db", tmp_path / "m" / "manifest.jsonl"):
        dataset = CropDataset(source)
        assert len(dataset) == 3
        assert dataset[2].text == "t2" and np.array_equal(dataset[2].image, samples[2].image)
