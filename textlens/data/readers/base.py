"""The reader base classes, the format registry and the file helpers every dataset reader shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np

from textlens.data.samples import CropSample, LabelSample, PageSample
from textlens.errors import AnnotationError, ConfigError, FileNotFound, NotAFile

SampleKind = Literal["crop", "page", "label"]
S = TypeVar("S", bound=CropSample | PageSample | LabelSample)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class DatasetReader(ABC, Generic[S]):
    """A dataset in its original format, iterated lazily as typed samples (images decode on demand)."""

    name: ClassVar[str]
    kind: SampleKind  # a class constant except for the manifest, whose kind is read from the file
    description: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def __iter__(self) -> Iterator[S]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self)} {self.kind} samples>"


class PageDatasetReader(DatasetReader[PageSample]):
    """A reader of annotated pages; ``crops()`` cuts the word crops out of them."""

    kind: SampleKind = "page"

    def crops_of(self, page: PageSample, skip_dont_care: bool = True) -> Iterator[CropSample]:
        """The word crops of one page (axis-aligned boxes, perspective-rectified quadrilaterals)."""
        from textlens.data.readers.crops import page_crops

        return page_crops(page, skip_dont_care=skip_dont_care)

    def crops(self, skip_dont_care: bool = True) -> Iterator[CropSample]:
        """The word crops of every page."""
        for page in self:
            yield from self.crops_of(page, skip_dont_care)


_REGISTRY: dict[str, type[DatasetReader[Any]]] = {}
_ALIASES: dict[str, str] = {}

R = TypeVar("R", bound=type[DatasetReader[Any]])


def register_reader(cls: R) -> R:
    """Class decorator: make a reader reachable by its ``name`` (and ``aliases``) in ``open_dataset``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"dataset format {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    for alias in cls.aliases:
        _ALIASES[alias] = cls.name
    return cls


def reader_class(format_name: str) -> type[DatasetReader[Any]]:
    """The reader class of a format name or alias (case-insensitive, ``-`` and ``_`` alike)."""
    key = format_name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        known = ", ".join(list_formats())
        raise ConfigError(f"unknown dataset format {format_name!r}; known formats: {known}")
    return _REGISTRY[key]


def list_formats() -> list[str]:
    """The registered format names, sorted."""
    return sorted(_REGISTRY)


def open_dataset(format_name: str, path: str | Path, **kwargs: Any) -> DatasetReader[Any]:
    """Open a dataset in its original format: ``open_dataset("icdar2015", "ic15/test")``."""
    return reader_class(format_name)(path, **kwargs)


# ---------------------------------------------------------------------------------------------- file helpers


def existing_path(path: str | Path, what: str = "dataset path") -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFound(f"{what} not found", path)
    return path


def existing_dir(path: str | Path, what: str = "dataset folder") -> Path:
    path = existing_path(path, what)
    if not path.is_dir():
        raise NotAFile(f"expected a {what}, got a file", path)
    return path


def existing_file(path: str | Path, what: str = "annotation file") -> Path:
    path = existing_path(path, what)
    if not path.is_file():
        raise NotAFile(f"expected a {what}, got a folder", path)
    return path


def image_in(root: Path, name: str, annotation: Path) -> Path:
    """``root / name`` for an image path an annotation file gives, refused (``AnnotationError`` naming the
    annotation and the path) when it leads outside ``root`` through ``..``, an absolute path or a symlink:
    ``data convert`` copies the images, and a crafted dataset must not make it copy files from elsewhere."""
    path = root / name
    if _escapes(path, root):
        raise AnnotationError(f"image path {name!r} leads outside the dataset folder {root}", annotation)
    return path


def _escapes(path: Path, root: Path) -> bool:
    return not path.resolve().is_relative_to(root.resolve())


def image_index(folder: Path, recursive: bool = False) -> dict[str, Path]:
    """Map file stem → image path for the images in ``folder`` (suffix case ignored); an image that is a
    link to a file outside ``folder`` is refused, as in :func:`image_in`."""
    files = folder.rglob("*") if recursive else folder.iterdir()
    images = {p.stem: p for p in sorted(files) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
    for path in images.values():
        # Only a link, or a file under a linked subfolder, can lead out; resolving every file would be slow.
        if (path.is_symlink() or path.parent != folder) and _escapes(path, folder):
            raise AnnotationError(f"image {path.name} is a link to a file outside the dataset folder", folder)
    return images


def read_text_file(path: Path) -> str:
    """Decode an annotation text file: UTF-8 (BOM stripped), else Latin-1 as older ground truths use it."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def gray_to_rgb(image: np.ndarray) -> np.ndarray:
    """Any uint8 gray (H×W) or single-channel image as RGB (H×W×3), the sample contract."""
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return np.repeat(np.asarray(image, dtype=np.uint8)[:, :, None], 3, axis=2)
