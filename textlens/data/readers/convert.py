"""Converting any readable dataset to the textlens manifest (JSONL + images folder)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from textlens.data.manifest import ManifestRecord, ManifestWriter
from textlens.data.readers.base import IMAGE_SUFFIXES, DatasetReader, PageDatasetReader
from textlens.data.readers.crops import page_crops
from textlens.data.samples import CropSample, LabelSample, PageSample

Sample = CropSample | PageSample | LabelSample


def _source_file(sample: Sample) -> Path | None:
    """The image file a sample was decoded from unchanged, if there is one (not a crop or an array slice)."""
    if not sample.source or "#" in sample.source:
        return None
    path = Path(sample.source)
    return path if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() else None


def _record(sample: Sample, image: Path) -> ManifestRecord:
    if isinstance(sample, CropSample):
        return ManifestRecord(image=image, kind="crop", text=sample.text)
    if isinstance(sample, PageSample):
        return ManifestRecord(image=image, kind="page", words=sample.words)
    return ManifestRecord(image=image, kind="label", label=sample.label)


def iter_samples(
    reader: DatasetReader[Any], crops: bool = False, limit: int | None = None, on_item: Callable[[], None] | None = None
) -> Iterator[Sample]:
    """The samples of a dataset, or with ``crops`` the word crops of its pages (any other sample passes).

    ``limit`` caps the dataset items read and ``on_item`` ticks once per item (a page when cutting crops).
    """
    for item in islice(reader, limit):
        if crops and isinstance(item, PageSample):
            # A reader may crop its own way (SVHN: the whole number); the manifest uses the generic cut.
            yield from (reader.crops_of(item) if isinstance(reader, PageDatasetReader) else page_crops(item))
        else:
            yield item
        if on_item:
            on_item()


def convert_to_manifest(
    reader: DatasetReader[Any],
    out_dir: str | Path,
    crops: bool = False,
    limit: int | None = None,
    on_item: Callable[[], None] | None = None,
) -> tuple[Path, int]:
    """Write ``out_dir/manifest.jsonl`` and ``out_dir/images/``; returns the manifest path and sample count.

    Images that are whole files (pages, crop datasets stored as files) are copied byte for byte; cut crops and
    in-memory images (MNIST, SVHN format 2, LMDB) are written as PNG. ``crops=True`` cuts the word crops out
    of a page dataset (don't-care words skipped). ``limit`` caps the dataset items read.
    """
    writer = ManifestWriter(out_dir)
    for index, sample in enumerate(iter_samples(reader, crops, limit, on_item)):
        source = _source_file(sample)
        if source is None:
            writer.add(sample, name=f"{index:08d}.png")
            continue
        target = writer.images_dir / f"{index:08d}{source.suffix.lower()}"
        shutil.copy2(source, target)
        writer.records.append(_record(sample, target))
    return writer.close(), len(writer.records)
