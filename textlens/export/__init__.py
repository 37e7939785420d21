"""Turning trained torch models into what the runtime reads: ONNX graphs and bundle folders (needs torch)."""

from textlens.export.average import average_folders
from textlens.export.bundle import BundleReport, bundle, load_model_folder
from textlens.export.onnx import Parity, check_parity, export_onnx, quantize

__all__ = [
    "BundleReport",
    "Parity",
    "average_folders",
    "bundle",
    "check_parity",
    "export_onnx",
    "load_model_folder",
    "quantize",
]
