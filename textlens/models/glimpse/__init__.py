"""Glimpse models (RAM, DRAM): hard visual attention trained with REINFORCE; registers ram and dram."""

from __future__ import annotations

from typing import Any

from textlens.models.glimpse.dram import DRAM
from textlens.models.glimpse.ram import RAM
from textlens.models.glimpse.sensor import GlimpseSensor, extract_patches, patch_boxes
from textlens.models.registry import register_model


@register_model("ram", family="glimpse")
def ram(**config: Any) -> RAM:
    """RAM (Mnih et al. 2014): recurrent attention digit classifier."""
    return RAM(**config)


@register_model("dram", family="glimpse")
def dram(**config: Any) -> DRAM:
    """DRAM (Ba et al. 2015): two-LSTM attention model reading digit strings."""
    return DRAM(**config)


__all__ = ["DRAM", "RAM", "GlimpseSensor", "dram", "extract_patches", "patch_boxes", "ram"]
