"""Tests for the LMDB crop store: round trip, sharding, the standard 1-based layout, bad paths."""

from __future__ import annotations

from pathlib import Path

import lmdb
import numpy as np
import pytest

from textlens.data.lmdb_store import LmdbReader, is_lmdb, write_lmdb
from textlens.data.samples import CropSample
from textlens.errors import FileNotFound


def _samples(n: int) -> list[CropSample]:
    rng = np.random.default_rng(0)
    return [
        CropSample(image=rng.integers(0, 256, size=(8, 10 + i, 3), dtype=np.uint8), text=f"wörd {i}") for i in range(n)
    ]


def test_round_trip_keeps_images_and_labels(tmp_path: Path) -> None:
    samples = _samples(5)
    assert write_lmdb(tmp_path / "db", samples, shard_size=2) == 5
    reader = LmdbReader(tmp_path / "db")
    assert len(reader) == 5
    for i, original in enumerate(samples):
        got = reader[i]
        assert got.text == original.text
        assert np.array_equal(got.image, original.image)
    assert reader[-1].text == "wörd 4"


def test_shards_use_the_standard_one_based_layout(tmp_path: Path) -> None:
    write_lmdb(tmp_path / "db", _samples(3), shard_size=2)
    shards = sorted(p.name for p in (tmp_path / "db").iterdir())
    assert shards == ["shard-00000", "shard-00001"]
    with (
        lmdb.open(str(tmp_path / "db" / "shard-00000"), readonly=True, lock=False) as env,
        env.begin() as txn,
    ):
        assert txn.get(b"num-samples") == b"2"
        assert txn.get(b"label-000000001") == "wörd 0".encode()
        assert txn.get(b"image-000000000") is None
    assert is_lmdb(tmp_path / "db") and is_lmdb(tmp_path / "db" / "shard-00001")


def test_single_environment_opens_directly(tmp_path: Path) -> None:
    write_lmdb(tmp_path / "db", _samples(2), fmt="jpg")
    reader = LmdbReader(tmp_path / "db" / "shard-00000")
    assert len(reader) == 2 and reader[1].image.shape == (8, 11, 3)


def test_out_of_range_index_raises(tmp_path: Path) -> None:
    write_lmdb(tmp_path / "db", _samples(2))
    with pytest.raises(IndexError):
        LmdbReader(tmp_path / "db")[2]


def test_missing_store_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound, match="nothing-here"):
        LmdbReader(tmp_path / "nothing-here")
