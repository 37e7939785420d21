"""CRNN recognisers: CNN backbone → 2-layer BiLSTM → linear, trained with CTC.

Input: N×C×H×W float, normalised as ``textlens.runtime.crops.prepare_crop`` does (C = 1 grayscale or
3 RGB, H = the model's ``height``: 32 or 48, any width that is a multiple of 4, padded right with the
white background). Output: ``{"logits": N×T×K}`` with T = W/4 time steps along the width and
K = ``num_classes``, the size of the charset's ``CTCTokenizer`` (the blank, then the characters; the default
is the latin charset's). The forward pass has no data-dependent
control flow, so it exports to ONNX with a dynamic width.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from textlens.data.charset import DecoderKind, default_num_classes
from textlens.models.layers.conv import to_sequence
from textlens.models.layers.sequence import BiLSTM
from textlens.models.recognition.backbones import build_backbone
from textlens.models.registry import register_model

LATIN_CTC_CLASSES = default_num_classes(DecoderKind.CTC)  # the blank, space, 94 printable ASCII, 12 symbols


class CRNN(nn.Module):
    """Backbone features as a width-wise sequence, contextualised by a BiLSTM, classified per step."""

    decoder = DecoderKind.CTC
    time_stride = 4

    def __init__(
        self,
        num_classes: int = LATIN_CTC_CLASSES,
        in_channels: int = 1,
        height: int = 32,
        backbone: str = "mobile",
        hidden: int = 160,
        lstm_layers: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.height, self.in_channels, self.num_classes = height, in_channels, num_classes
        self.backbone = build_backbone(backbone, in_channels, height)
        self.dropout = nn.Dropout(dropout)
        self.sequence = BiLSTM(self.backbone.out_channels, hidden, lstm_layers)
        self.classifier = nn.Linear(self.sequence.out_features, num_classes)

    def input_config(self) -> dict[str, Any]:
        """The CropSpec fields this model needs (height, channels; any width)."""
        return {"height": self.height, "channels": self.in_channels, "width_multiple": self.time_stride}

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        features = to_sequence(self.backbone(images))
        return {"logits": self.classifier(self.dropout(self.sequence(features)))}


@register_model(
    "crnn_small",
    family="recognition",
    num_classes=LATIN_CTC_CLASSES,
    in_channels=1,
    height=32,
    backbone="mobile",
    hidden=160,
)
def crnn_small(**kwargs: Any) -> CRNN:
    """CRNN with a MobileNetV2-style backbone (32-64-128-256) and a BiLSTM of 160: the fast CPU default."""
    return CRNN(**kwargs)


@register_model(
    "crnn_fast",
    family="recognition",
    num_classes=LATIN_CTC_CLASSES,
    in_channels=1,
    height=32,
    backbone="dense",
    hidden=160,
)
def crnn_fast(**kwargs: Any) -> CRNN:
    """CRNN with a plain six-conv backbone (32-…-192) and a BiLSTM of 160: the quickest to train on a CPU."""
    return CRNN(**kwargs)


@register_model(
    "crnn_vgg",
    family="recognition",
    num_classes=LATIN_CTC_CLASSES,
    in_channels=1,
    height=32,
    backbone="vgg",
    hidden=256,
)
def crnn_vgg(**kwargs: Any) -> CRNN:
    """The classic CRNN: a VGG backbone and a BiLSTM of 256."""
    return CRNN(**kwargs)


@register_model(
    "crnn_base",
    family="recognition",
    num_classes=LATIN_CTC_CLASSES,
    in_channels=1,
    height=32,
    backbone="resnet",
    hidden=256,
)
def crnn_base(**kwargs: Any) -> CRNN:
    """CRNN with a ResNet backbone (64-128-256-384) and a BiLSTM of 256: slower, more accurate."""
    return CRNN(**kwargs)
