"""Text detection models; importing this package registers them with ``textlens.models.registry``.

The builders import torch only when called. Label generation (``targets``) needs numpy, OpenCV and
pyclipper only; the maps are decoded into word quads by ``textlens.runtime.postprocess``, which inference
and training share.

- ``db_small`` (the default): DBNet with a MobileNetV3-like backbone, word-level polygons.
- ``db_fast``: DBNet with a plain-convolution encoder, 1.8× cheaper to train on a CPU than ``db_small``.
- ``db_tiny``: a narrower, shallower DBNet for quick experiments and tests.
- ``east_small``: EAST with RBOX geometry on the same backbone, post-processed with locality-aware NMS.
"""

from __future__ import annotations

from typing import Any

from textlens.models.registry import register_model


@register_model("db_small", family="detection", backbone="small", width=1.0, inner=64)
def db_small(**config: Any) -> Any:
    """DBNet, MobileNetV3-like backbone, FPN 64: word polygons from a probability map."""
    from textlens.models.detection.dbnet import DBNet

    return DBNet(**config)


@register_model("db_fast", family="detection", backbone="dense", width=1.0, inner=64)
def db_fast(**config: Any) -> Any:
    """DBNet, plain 3×3-conv encoder, FPN 64: the detector to train on a CPU (no depthwise convolutions)."""
    from textlens.models.detection.dbnet import DBNet

    return DBNet(**config)


@register_model("db_tiny", family="detection", backbone="tiny", width=1.0, inner=32)
def db_tiny(**config: Any) -> Any:
    """DBNet with the tiny backbone (FPN 32): quick experiments and tests."""
    from textlens.models.detection.dbnet import DBNet

    return DBNet(**config)


@register_model("east_small", family="detection", backbone="small", width=1.0, inner=64, geo_scale=512.0)
def east_small(**config: Any) -> Any:
    """EAST (RBOX), MobileNetV3-like backbone: rotated word boxes with locality-aware NMS."""
    from textlens.models.detection.east import EAST

    return EAST(**config)
