"""EAST (an efficient and accurate scene text detector, Zhou et al. 2017) with RBOX geometry.

Input as DBNet's (N×3×H×W, ImageNet-normalised, H and W multiples of 32). Output at 1/4 resolution:
``{"prob": N×1×h×w score map, "geo": N×5×h×w}``, where ``geo`` holds, for each pixel centre, the distances
(input pixels) to the top, right, bottom and left edges of its word's rotated rectangle and the rectangle's
angle (radians, in (-π/4, π/4)). The loss lives with the training system
(``textlens.train.det_loss.east_loss``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from textlens.models.detection.backbones import FPN, build_encoder


class EAST(nn.Module):
    """Backbone + FPN at 1/4 scale + 1×1 heads for the score, the four distances and the angle."""

    stride = 4
    outputs = ("prob", "geo")

    def __init__(self, backbone: str = "small", width: float = 1.0, inner: int = 64, geo_scale: float = 512.0) -> None:
        super().__init__()
        self.encoder = build_encoder(backbone, width)
        self.fpn = FPN(self.encoder.channels, inner)
        self.neck = nn.Sequential(
            nn.Conv2d(self.fpn.out_channels, inner // 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(inner // 2),
            nn.ReLU(inplace=True),
        )
        self.score = nn.Conv2d(inner // 2, 1, 1)
        self.dist = nn.Conv2d(inner // 2, 4, 1)
        self.angle = nn.Conv2d(inner // 2, 1, 1)
        self.geo_scale = geo_scale
        nn.init.constant_(self.score.bias, -2.0)
        # Distances start near 16 px (a word's height), not at half the scale.
        nn.init.constant_(self.dist.bias, math.log(16.0 / (geo_scale - 16.0)))

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        x = self.neck(self.fpn(self.encoder(images)))
        score = torch.sigmoid(self.score(x))
        dist = torch.sigmoid(self.dist(x)) * self.geo_scale
        angle = (torch.sigmoid(self.angle(x)) - 0.5) * (math.pi / 2)
        return {"prob": score, "geo": torch.cat([dist, angle], dim=1)}
