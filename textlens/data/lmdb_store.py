"""LMDB storage for large crop sets, in the layout of the common text-recognition benchmarks.

One LMDB environment holds ``num-samples`` and, for i = 1..n (1-based, as in the standard layout),
``image-%09d`` (PNG or JPEG bytes) and ``label-%09d`` (UTF-8). Big sets are written as shards
``root/shard-00000``, ``root/shard-00001``...; ``LmdbReader`` opens one environment or a folder of shards and
presents them as one sequence. No torch here; ``lmdb`` (the train extra) is imported when a store is opened,
so the core install can import this module and the manifest-only commands built on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import cv2
import numpy as np

from textlens.data.samples import CropSample
from textlens.errors import CorruptImage, FileNotFound, OutputError

if TYPE_CHECKING:
    import lmdb

_MAP_SIZE = 1 << 40  # sparse on Linux: the file only grows as data is written


def _lmdb() -> ModuleType:
    """The ``lmdb`` module; a ``ModuleNotFoundError`` in the core install, which the commands turn into advice."""
    import lmdb

    return lmdb


def is_lmdb(path: str | Path) -> bool:
    """Whether ``path`` is an LMDB environment or a folder of LMDB shards."""
    path = Path(path)
    return (path / "data.mdb").is_file() or (path.is_dir() and any(path.glob("*/data.mdb")))


def encode_image(image: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """PNG (lossless) or JPEG bytes of an RGB uint8 image."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, buf = cv2.imencode(f".{fmt}", bgr, params)
    if not ok:
        raise OutputError(f"cannot encode an image of shape {image.shape} as {fmt}")
    return buf.tobytes()


def decode_image(data: bytes, where: str) -> np.ndarray:
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if array is None:
        raise CorruptImage("cannot decode the stored image bytes", source=where)
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)


class LmdbWriter:
    """Writes crops into sharded LMDB environments under ``root`` (``shard_size`` samples each).

    Each shard is built in a temporary folder and renamed into place when full or on ``close``, so a reader
    never opens half a shard. ``fmt``: ``png`` or ``jpg``.
    """

    def __init__(self, root: str | Path, shard_size: int = 500_000, fmt: str = "png", commit_every: int = 1000) -> None:
        if fmt not in {"png", "jpg"}:
            raise OutputError(f"unknown image format {fmt!r} (png or jpg)", source=root)
        _lmdb()  # without lmdb, fail before the output folder is made
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.fmt = fmt
        self.commit_every = commit_every
        self.total = 0
        self._shard = len(list(self.root.glob("shard-*")))
        self._env: lmdb.Environment | None = None
        self._txn: lmdb.Transaction | None = None
        self._count = 0
        self._tmp: Path | None = None

    def _open_shard(self) -> None:
        self._tmp = self.root / f".shard-{self._shard:05d}.tmp"
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._env = _lmdb().open(str(self._tmp), map_size=_MAP_SIZE, subdir=True, meminit=False, map_async=True)
        self._txn = self._env.begin(write=True)
        self._count = 0

    def add(self, sample: CropSample) -> None:
        if self._env is None:
            self._open_shard()
        assert self._txn is not None and self._env is not None
        self._count += 1
        self._txn.put(b"image-%09d" % self._count, encode_image(sample.image, self.fmt))
        self._txn.put(b"label-%09d" % self._count, sample.text.encode("utf-8"))
        self.total += 1
        if self._count % self.commit_every == 0:
            self._txn.put(b"num-samples", str(self._count).encode())
            self._txn.commit()
            self._txn = self._env.begin(write=True)
        if self._count >= self.shard_size:
            self._close_shard()

    def add_all(self, samples: Iterable[CropSample]) -> int:
        for sample in samples:
            self.add(sample)
        return self.total

    def _close_shard(self) -> None:
        if self._env is None or self._txn is None or self._tmp is None:
            return
        self._txn.put(b"num-samples", str(self._count).encode())
        self._txn.commit()
        self._env.sync()
        self._env.close()
        self._tmp.rename(self.root / f"shard-{self._shard:05d}")
        self._shard += 1
        self._env = self._txn = self._tmp = None

    def close(self) -> Path:
        self._close_shard()
        return self.root

    def __enter__(self) -> LmdbWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        elif self._env is not None and self._tmp is not None:  # do not publish a half-written shard
            self._env.close()
            shutil.rmtree(self._tmp, ignore_errors=True)


def write_lmdb(root: str | Path, samples: Iterable[CropSample], shard_size: int = 500_000, fmt: str = "png") -> int:
    """Write crops as sharded LMDB under ``root``; returns how many were written."""
    with LmdbWriter(root, shard_size=shard_size, fmt=fmt) as writer:
        writer.add_all(samples)
        return writer.total


class LmdbReader:
    """Random access to one LMDB environment (standard layout) or a folder of shards; ``reader[i]`` is
    0-based.

    Environments open lazily per process, so a reader can be handed to DataLoader workers.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFound("no LMDB store here", self.path)
        if (self.path / "data.mdb").is_file():
            self.shards = [self.path]
        else:
            self.shards = sorted(p.parent for p in self.path.glob("*/data.mdb") if not p.parent.name.startswith("."))
        if not self.shards:
            raise FileNotFound("no data.mdb in the folder or its shard folders", self.path)
        self.counts = [self._num_samples(s) for s in self.shards]
        self.offsets = np.cumsum([0, *self.counts])
        self._envs: dict[int, lmdb.Environment] = {}

    @staticmethod
    def _num_samples(shard: Path) -> int:
        with _lmdb().open(str(shard), readonly=True, lock=False, readahead=False) as env, env.begin() as txn:
            raw = txn.get(b"num-samples")
        if raw is None:
            raise CorruptImage("the LMDB store has no 'num-samples' key", source=shard)
        return int(raw.decode())

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _env(self, shard: int) -> lmdb.Environment:
        env = self._envs.get(shard)
        if env is None:
            env = _lmdb().open(str(self.shards[shard]), readonly=True, lock=False, readahead=False, meminit=False)
            self._envs[shard] = env
        return env

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_envs": {}}  # open handles do not cross process boundaries

    def __getitem__(self, index: int) -> CropSample:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        shard = int(np.searchsorted(self.offsets, index, side="right")) - 1
        key = index - int(self.offsets[shard]) + 1  # the standard layout counts from 1
        with self._env(shard).begin() as txn:
            image = txn.get(b"image-%09d" % key)
            label = txn.get(b"label-%09d" % key)
        where = f"{self.shards[shard]}#{key}"
        if image is None or label is None:
            raise CorruptImage("missing image or label key", source=where)
        return CropSample(image=decode_image(image, where), text=label.decode("utf-8"), source=where)

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
