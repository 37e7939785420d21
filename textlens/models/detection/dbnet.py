"""DBNet (real-time scene text detection with differentiable binarisation, Liao et al. 2020).

Input: N×3×H×W float, normalised ImageNet-style ((x/255 - mean)/std, see ``IMAGENET_MEAN``/``STD``),
H and W multiples of 32. Output, at the input's resolution:

- training: ``{"prob", "thresh", "binary"}``: the text probability map P, the threshold map T and the
  approximate binary map B = 1/(1 + exp(-k(P - T)));
- eval (and the exported graph): ``{"prob"}`` only, so inference carries no threshold branch.

Loss (``DBLoss``): BCE on P with online hard negative mining (3 negatives per positive), dice on B and
L1 on T inside the dilated text regions: L = w_prob·L_prob + w_binary·L_binary + w_thresh·L_thresh.
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

    def loss(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        return DBLoss()(outputs, targets)


def ohem_bce(prob: Tensor, gt: Tensor, mask: Tensor, ratio: float = 3.0, eps: float = 1e-6) -> Tensor:
    """BCE over all positives and the ``ratio``× as many hardest negatives (inside ``mask``)."""
    prob = prob.clamp(eps, 1.0 - eps)
    loss = -(gt * torch.log(prob) + (1.0 - gt) * torch.log(1.0 - prob))
    positive = (gt * mask) > 0.5
    negative = ((1.0 - gt) * mask) > 0.5
    n_pos = int(positive.sum())
    n_neg = min(int(negative.sum()), int(max(n_pos, 1) * ratio))
    pos_loss = loss[positive].sum()
    neg_loss = loss[negative].topk(n_neg).values.sum() if n_neg > 0 else loss.new_zeros(())
    return (pos_loss + neg_loss) / (n_pos + n_neg + eps)


def dice_loss(pred: Tensor, gt: Tensor, mask: Tensor, eps: float = 1e-6) -> Tensor:
    inter = (pred * gt * mask).sum()
    union = (pred * mask).sum() + (gt * mask).sum() + eps
    return 1.0 - 2.0 * inter / union


def masked_l1(pred: Tensor, gt: Tensor, mask: Tensor, eps: float = 1e-6) -> Tensor:
    return ((pred - gt).abs() * mask).sum() / (mask.sum() + eps)


class DBLoss(nn.Module):
    """The DB loss on (N×1×H×W) maps; ``targets`` holds gt, mask, thresh, thresh_mask (N×H×W)."""

    def __init__(self, w_prob: float = 1.0, w_binary: float = 1.0, w_thresh: float = 10.0) -> None:
        super().__init__()
        self.w_prob, self.w_binary, self.w_thresh = w_prob, w_binary, w_thresh

    def forward(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        # Losses in fp32 whatever the autocast dtype: log(1 - p) for p near 1 underflows in bf16.
        prob = outputs["prob"].float()[:, 0]
        gt, mask = targets["gt"].float(), targets["mask"].float()
        l_prob = ohem_bce(prob, gt, mask)
        l_binary = dice_loss(outputs["binary"].float()[:, 0], gt, mask)
        l_thresh = masked_l1(outputs["thresh"].float()[:, 0], targets["thresh"].float(), targets["thresh_mask"].float())
        total = self.w_prob * l_prob + self.w_binary * l_binary + self.w_thresh * l_thresh
        return {
            "loss": total,
            "prob": l_prob.detach(),
            "binary": l_binary.detach(),
            "thresh": l_thresh.detach(),
        }
