"""Inference without torch: onnxruntime sessions for the bundled (or user-given) ONNX models."""

# First: switches onnxruntime's telemetry off before any textlens module can import onnxruntime.
from textlens.runtime import offline  # noqa: F401
from textlens.runtime.base import Detection, Detector, Recognition, Recognizer
from textlens.runtime.loading import available_models, load_detector, load_recognizer

__all__ = ["Detection", "Detector", "Recognition", "Recognizer", "available_models", "load_detector", "load_recognizer"]
