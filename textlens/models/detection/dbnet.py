"""DBNet (real-time scene text detection with differentiable binarisation, Liao et al. 2020).

Input: N×3×H×W float, normalised ImageNet-style ((x/255 - mean)/std, see ``IMAGENET_MEAN``/``STD``),
H and W multiples of 32. Output, at the input's resolution:

- training: ``{"prob", "thresh", "binary"}``: the text probability map P, the threshold map T and the
  approximate binary map B = 1/(1 + exp(-k(P - T)));
- eval (and the exported graph): ``{"prob"}`` only, so inference carries no threshold branch.

The loss lives with the training system (``textlens.train.det_loss.db_loss``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textlens.models.detection.backbones import FPN, build_encoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _up_head(channels: int, hidden: int) -> nn.Sequential:
    """3×3 conv, then two stride-2 transposed convs back to the input resolution: one logit channel."""
    return nn.Sequential(
        nn.Conv2d(channels, hidden, 3, padding=1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(hidden, hidden, 2, 2, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(hidden, 1, 2, 2),
    )


class DBNet(nn.Module):
    """Backbone + FPN at 1/4 scale + probability and threshold heads upsampled to full resolution."""

    stride = 1  # the output maps have the input's size
    outputs = ("prob",)

    def __init__(self, backbone: str = "small", width: float = 1.0, inner: int = 64, k: float = 50.0) -> None:
        super().__init__()
        self.encoder = build_encoder(backbone, width)
        self.fpn = FPN(self.encoder.channels, inner)
        self.prob_head = _up_head(self.fpn.out_channels, inner // 4)
        self.thresh_head = _up_head(self.fpn.out_channels, inner // 4)
        self.k = k
        # Start the probability logits near the text prior (few pixels are text) for a calm first step.
        nn.init.constant_(self.prob_head[-1].bias, -2.0)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        fused = self.fpn(self.encoder(images))
        prob = torch.sigmoid(self.prob_head(fused))
        if not self.training:
            return {"prob": prob}
        thresh = torch.sigmoid(self.thresh_head(fused))
        binary = torch.sigmoid(self.k * (prob - thresh))
        return {"prob": prob, "thresh": thresh, "binary": binary}
