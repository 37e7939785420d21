"""Inference without torch: onnxruntime sessions for the bundled (or user-given) ONNX models."""

from textlens.runtime.base import Detection, Detector, Recognition, Recognizer
from textlens.runtime.loading import available_models, load_detector, load_recognizer

__all__ = ["Detection", "Detector", "Recognition", "Recognizer", "available_models", "load_detector", "load_recognizer"]
