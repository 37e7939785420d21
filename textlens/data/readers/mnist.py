"""MNIST-style IDX files (images + labels, raw or gzipped) and the fast ``read_idx`` array loader."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, ClassVar

import numpy as np

from textlens.data.readers.base import DatasetReader, existing_path, gray_to_rgb, register_reader
from textlens.data.samples import LabelSample
from textlens.errors import AnnotationError, FileNotFound, UnsupportedFormat

# IDX type byte → big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as fh:
        gz = fh.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gz else path.open("rb")


def _read_header(fh: IO[bytes], path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = fh.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise UnsupportedFormat(f"not an IDX file (magic bytes {magic.hex() or 'missing'})", path)
    ndim = magic[3]
    raw_dims = fh.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise AnnotationError(f"IDX header truncated (expected {ndim} dimensions)", path)
    dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    return np.dtype(_IDX_DTYPES[magic[2]]), dims


def idx_shape(path: str | Path) -> tuple[int, ...]:
    """The array shape an IDX file declares, reading only its header."""
    path = existing_path(path, "IDX file")
    with _open(path) as fh:
        return _read_header(fh, path)[1]


def read_idx(path: str | Path) -> np.ndarray:
    """Load an IDX file (``.gz`` or raw) into a writable native-endian array of its declared shape."""
    path = existing_path(path, "IDX file")
    with _open(path) as fh:
        dtype, shape = _read_header(fh, path)
        out = np.empty(shape, dtype=dtype)
        # readinto fills the array in place: one pass, no intermediate bytes object.
        got = fh.readinto(memoryview(out).cast("B")) if out.nbytes else 0
    if got != out.nbytes:
        raise AnnotationError(f"IDX data truncated: header declares {out.nbytes} bytes, got {got}", path)
    return out if dtype.itemsize == 1 else out.astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, split: str, what: str) -> Path:
    """Find e.g. ``train-images-idx3-ubyte(.gz)`` or ``t10k-labels.idx1-ubyte`` for a split."""
    prefixes = ("t10k", "test") if split == "test" else (split,)
    ndim = "3" if what == "images" else "1"
    for prefix in prefixes:
        found = sorted(folder.glob(f"*{prefix}-{what}[-.]idx{ndim}-ubyte*"))
        if found:
            return found[0]
    raise FileNotFound(f"no {split} {what} IDX file (like {prefixes[0]}-{what}-idx{ndim}-ubyte.gz)", folder)


@register_reader
class MnistReader(DatasetReader[LabelSample]):
    """MNIST (and Fashion-MNIST, KMNIST...) IDX files → ``LabelSample`` with the gray digit as RGB."""

    name: ClassVar[str] = "mnist"
    kind = "label"
    description = "MNIST-style IDX images + labels files (raw or .gz) → LabelSample"
    aliases = ("idx",)

    def __init__(
        self, path: str | Path, split: str = "train", images: str | Path | None = None, labels: str | Path | None = None
    ) -> None:
        path = existing_path(path)
        if path.is_file():
            images = images or path
            labels = labels or path.with_name(path.name.replace("images", "labels").replace("idx3", "idx1"))
        self.images_path = existing_path(images, "IDX images file") if images else _find_idx(path, split, "images")
        self.labels_path = existing_path(labels, "IDX labels file") if labels else _find_idx(path, split, "labels")
        n_images, n_labels = idx_shape(self.images_path)[0], idx_shape(self.labels_path)[0]
        if n_images != n_labels:
            raise AnnotationError(f"{n_images} images but {n_labels} labels in {self.labels_path}", self.images_path)
        self._count = n_images
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images (N×H×W uint8) and labels (N,), loaded once on first use: the fast path for training."""
        if self._arrays is None:
            images, labels = read_idx(self.images_path), read_idx(self.labels_path)
            if images.ndim != 3 or labels.ndim != 1:
                raise AnnotationError(
                    f"expected N×H×W images and N labels, got {images.shape} and {labels.shape}", self.images_path
                )
            self._arrays = images, labels
        return self._arrays

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[LabelSample]:
        images, labels = self.arrays()
        for index in range(len(labels)):
            yield LabelSample(
                image=gray_to_rgb(images[index]), label=str(int(labels[index])), source=f"{self.images_path}#{index}"
            )
