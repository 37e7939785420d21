"""digits_cnn: a small convolutional classifier of single handwritten digits (28×28, light ink on black).

Three stages of two 3×3 convolutions (batch norm, ReLU), each stage ending in 2×2 max pooling
(28 → 14 → 7 → 3), then a dropout-regularised hidden layer and the class scores. About 0.1 M parameters:
small enough to train on one CPU core in well under an hour and to ship as a sub-megabyte ONNX bundle.
Registers ``digits_cnn`` (family ``digits``); inference runs the exported graph through onnxruntime
(:mod:`textlens.models.digits_predict`), never this module.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from textlens.models.registry import register_model

# The canvas every digit classifier reads: MNIST's, the digit fitted in its 20×20 centre by its centre of mass.
DIGIT_SIZE = 28


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DigitsCNN(nn.Module):
    """Conv stages (two conv-BN-ReLU each, then max pooling) → flatten → Linear → ReLU → dropout → Linear."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64),
        hidden: int = 128,
        dropout: float = 0.3,
        image_size: int = DIGIT_SIZE,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "num_classes": num_classes,
            "in_channels": in_channels,
            "channels": list(channels),
            "hidden": hidden,
            "dropout": dropout,
            "image_size": image_size,
        }
        stages: list[nn.Module] = []
        previous, side = in_channels, image_size
        for width in channels:
            stages += [conv_bn_relu(previous, width), conv_bn_relu(width, width), nn.MaxPool2d(2)]
            previous, side = width, side // 2
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout / 2),
            nn.Linear(previous * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.num_classes = num_classes

    def forward(self, images: Tensor) -> Tensor:
        """``images``: (N, 1, 28, 28) in 0..1, light ink on black → class logits (N, num_classes)."""
        return self.head(self.features(images))


@register_model("digits_cnn", family="digits")
def digits_cnn(**config: Any) -> DigitsCNN:
    """digits_cnn: small CNN classifying 28×28 handwritten digits (conv-BN-ReLU stages, dropout)."""
    return DigitsCNN(**config)


def count_parameters(model: nn.Module) -> int:
    return sum(int(p.numel()) for p in model.parameters())


def export_digits_onnx(model: nn.Module, path: str | Path, opset: int = 17) -> Path:
    """The eval-mode graph ``images (N, 1, 28, 28) → logits (N, classes)`` as ONNX with a dynamic batch axis,
    checked with onnx.checker and written atomically."""
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    was_training = model.training
    model.eval()
    size = int(getattr(model, "config", {}).get("image_size", DIGIT_SIZE))
    example = torch.zeros(2, 1, size, size)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes concern torch internals, not the model
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
            )
        onnx.checker.check_model(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        model.train(was_training)
    return path
