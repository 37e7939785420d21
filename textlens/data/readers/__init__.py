"""Readers of the standard OCR datasets in their original formats, behind one registry.

``open_dataset("icdar2015", "ic15/test_images", gt_dir="ic15/test_gt")`` returns a lazy reader whose
samples are ``CropSample``, ``PageSample`` or ``LabelSample``; ``list_formats()`` names every format.
Optional dependencies (h5py, scipy, lmdb) are imported only by the readers that need them.
"""

from textlens.data.readers import (  # noqa: F401  (importing a module registers its readers)
    dhcd,
    funsd,
    icdar,
    iiit5k,
    kaist,
    lmdb_reader,
    manifest_reader,
    mnist,
    sroie,
    svhn,
    svt,
)
from textlens.data.readers.base import (
    DatasetReader,
    PageDatasetReader,
    list_formats,
    open_dataset,
    reader_class,
    register_reader,
)
from textlens.data.readers.crops import crop_box, crop_quad, crop_word, page_crops
from textlens.data.readers.mnist import read_idx

__all__ = [
    "DatasetReader",
    "PageDatasetReader",
    "crop_box",
    "crop_quad",
    "crop_word",
    "list_formats",
    "open_dataset",
    "page_crops",
    "read_idx",
    "reader_class",
    "register_reader",
]
