"""EAST (an efficient and accurate scene text detector, Zhou et al. 2017) with RBOX geometry.

Input as DBNet's (N×3×H×W, ImageNet-normalised, H and W multiples of 32). Output at 1/4 resolution:
``{"prob": N×1×h×w score map, "geo": N×5×h×w}``, where ``geo`` holds, for each pixel centre, the distances
(input pixels) to the top, right, bottom and left edges of its word's rotated rectangle and the rectangle's
angle (radians, in (-π/4, π/4)). Loss: dice on the score map, -log IoU on the distances and
1 - cos(Δθ) on the angle, both on text pixels (``EASTLoss``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from textlens.models.detection.backbones import FPN, build_encoder
from textlens.models.detection.dbnet import dice_loss


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

    def loss(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        return EASTLoss()(outputs, targets)


class EASTLoss(nn.Module):
    """Dice on the score map + w_geo·(-log IoU + w_angle·(1 - cos Δθ)) averaged over text pixels."""

    def __init__(self, w_geo: float = 1.0, w_angle: float = 10.0) -> None:
        super().__init__()
        self.w_geo, self.w_angle = w_geo, w_angle

    def forward(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        score = outputs["prob"].float()[:, 0]
        geo = outputs["geo"].float()
        gt_score, mask, gt_geo = targets["score"].float(), targets["mask"].float(), targets["geo"].float()
        l_score = dice_loss(score, gt_score, mask)
        weight = gt_score * mask
        t, r, b, left, angle = geo.unbind(1)
        gt_t, gt_r, gt_b, gt_l, gt_angle = gt_geo.unbind(1)
        area_pred = (t + b) * (r + left)
        area_gt = (gt_t + gt_b) * (gt_r + gt_l)
        inter = (torch.minimum(r, gt_r) + torch.minimum(left, gt_l)) * (torch.minimum(t, gt_t) + torch.minimum(b, gt_b))
        union = area_pred + area_gt - inter
        l_iou = -torch.log((inter + 1.0) / (union + 1.0))
        l_angle = 1.0 - torch.cos(angle - gt_angle)
        denom = weight.sum() + 1e-6
        l_geo = ((l_iou + self.w_angle * l_angle) * weight).sum() / denom
        total = l_score + self.w_geo * l_geo
        return {"loss": total, "score": l_score.detach(), "geo": l_geo.detach()}
