"""The multi-resolution glimpse sensor (retina) of RAM and DRAM, batched with ``F.affine_grid``.

A glimpse at location ``l = (x, y)`` in [-1, 1]² (-1 is the left/top edge of the image, +1 the right/bottom,
the ``align_corners=False`` convention of ``F.grid_sample``) extracts ``scales`` square patches centred on
``l``: the first ``size``×``size`` pixels, each next one ``ratio``× larger, every one brought back to
``size``×``size`` by averaging (so the outer patches are lower resolution, like a fovea). Pixels outside the
image read as 0. The sensor has no parameters and is differentiable w.r.t. the image only: locations are
detached because they are sampled actions trained by REINFORCE, not by back-propagation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def patch_extent(size: int, scale: int, ratio: int = 2) -> int:
    """Side in image pixels of the patch of a given scale (0 = finest)."""
    return size * ratio**scale


def extract_patches(images: Tensor, locations: Tensor, size: int, scales: int, ratio: int = 2) -> Tensor:
    """``images`` B×C×H×W, ``locations`` B×2 (x, y) → B×(scales·C)×size×size patches, finest first."""
    batch, channels, height, width = images.shape
    locations = locations.detach().to(images.dtype)
    patches = []
    for scale in range(scales):
        extent = patch_extent(size, scale, ratio)
        theta = images.new_zeros(batch, 2, 3)
        # affine_grid maps the output's [-1, 1] box onto extent/W (resp. H) of the input's half-width.
        theta[:, 0, 0] = extent / width
        theta[:, 1, 1] = extent / height
        theta[:, :, 2] = locations
        grid = F.affine_grid(theta, [batch, channels, extent, extent], align_corners=False)
        patch = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if extent != size:
            patch = F.avg_pool2d(patch, kernel_size=extent // size)
        patches.append(patch)
    return torch.cat(patches, dim=1)


def patch_boxes(
    location: tuple[float, float], height: int, width: int, size: int, scales: int, ratio: int = 2
) -> list[tuple[float, float, float, float]]:
    """The pixel boxes (x0, y0, x1, y1) the sensor reads at ``location``, finest first (for drawing)."""
    cx, cy = (location[0] + 1.0) * width / 2.0, (location[1] + 1.0) * height / 2.0
    boxes = []
    for scale in range(scales):
        half = patch_extent(size, scale, ratio) / 2.0
        boxes.append((cx - half, cy - half, cx + half, cy + half))
    return boxes


class GlimpseSensor(nn.Module):
    """ρ(x, l): the retina as a module (no parameters), so models carry its configuration."""

    def __init__(self, size: int = 8, scales: int = 1, ratio: int = 2) -> None:
        super().__init__()
        self.size, self.scales, self.ratio = size, scales, ratio

    def forward(self, images: Tensor, locations: Tensor) -> Tensor:
        return extract_patches(images, locations, self.size, self.scales, self.ratio)

    def extra_repr(self) -> str:
        return f"size={self.size}, scales={self.scales}, ratio={self.ratio}"
