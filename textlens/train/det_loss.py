"""The detectors' losses, owned by the training system (``textlens.train.det_system``): the models in
``textlens.models.detection`` only map images to their output dicts.

- DB (Liao et al. 2020): BCE on the probability map P with online hard negative mining (3 negatives per
  positive), dice on the approximate binary map B and L1 on the threshold map T inside the dilated text
  regions: L = w_prob·L_prob + w_binary·L_binary + w_thresh·L_thresh.
- EAST (Zhou et al. 2017), RBOX: dice on the score map + w_geo·(-log IoU of the four distances
  + w_angle·(1 - cos Δθ)), averaged over text pixels.

Targets come from ``textlens.models.detection.targets`` (``textlens.train.det_data.make_targets``). The
losses are computed in fp32 whatever the autocast dtype: log(1 - p) for p near 1 underflows in bf16.
"""

from __future__ import annotations

import torch
from torch import Tensor


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


def db_loss(
    outputs: dict[str, Tensor],
    targets: dict[str, Tensor],
    w_prob: float = 1.0,
    w_binary: float = 1.0,
    w_thresh: float = 10.0,
) -> dict[str, Tensor]:
    """The DB loss on a training-mode DBNet's (N×1×H×W) maps; ``targets`` holds gt, mask, thresh, thresh_mask
    (N×H×W). Returns the total (``loss``) and its detached terms."""
    prob = outputs["prob"].float()[:, 0]
    gt, mask = targets["gt"].float(), targets["mask"].float()
    l_prob = ohem_bce(prob, gt, mask)
    l_binary = dice_loss(outputs["binary"].float()[:, 0], gt, mask)
    l_thresh = masked_l1(outputs["thresh"].float()[:, 0], targets["thresh"].float(), targets["thresh_mask"].float())
    total = w_prob * l_prob + w_binary * l_binary + w_thresh * l_thresh
    return {
        "loss": total,
        "prob": l_prob.detach(),
        "binary": l_binary.detach(),
        "thresh": l_thresh.detach(),
    }


def east_loss(
    outputs: dict[str, Tensor], targets: dict[str, Tensor], w_geo: float = 1.0, w_angle: float = 10.0
) -> dict[str, Tensor]:
    """The EAST loss on ``prob`` (N×1×h×w) and ``geo`` (N×5×h×w); ``targets`` holds score, mask (N×h×w) and
    geo (N×5×h×w). Returns the total (``loss``) and its detached terms."""
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
    l_geo = ((l_iou + w_angle * l_angle) * weight).sum() / denom
    total = l_score + w_geo * l_geo
    return {"loss": total, "score": l_score.detach(), "geo": l_geo.detach()}


def detection_loss(method: str, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
    """The loss of a ``db`` or ``east`` detector's training-mode outputs against its targets."""
    return east_loss(outputs, targets) if method == "east" else db_loss(outputs, targets)
