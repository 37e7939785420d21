"""Detection backbones and the feature pyramid: encoders with strides 4, 8, 16, 32 (MobileNetV3-like or plain
3×3 convolutions) and an FPN fusing them at 1/4 scale.

Every block is a fixed-kernel convolution (no global pooling, no fixed sizes), so an exported graph takes
any input height and width that is a multiple of 32, and the layers run well in channels_last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textlens.errors import ConfigError
from textlens.models.layers.conv import ConvBNAct, InvertedResidual

# (out channels, first stride, expansion, blocks) per stage; strides compound to 4, 8, 16, 32.
MOBILE_STAGES: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "tiny": ((16, 2, 3, 1), (24, 2, 3, 1), (48, 2, 3, 2), (96, 2, 4, 1)),
    "small": ((24, 2, 4, 2), (40, 2, 3, 3), (80, 2, 4, 3), (160, 2, 4, 2)),
}


def _scaled(channels: int, width: float) -> int:
    # Multiples of 8 keep vectorised kernels (oneDNN, MLAS, cuDNN) on their fast paths.
    return max(8, round(channels * width / 8) * 8)


class StagedEncoder(nn.Module):
    """A stem then stages; returns every stage's output (the 1/4, 1/8, 1/16, 1/32 maps)."""

    stem: nn.Module
    stages: nn.ModuleList

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class MobileEncoder(StagedEncoder):
    """A stride-2 stem then four stages of inverted residuals; returns the 1/4, 1/8, 1/16, 1/32 maps."""

    def __init__(self, variant: str = "small", width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        stages = MOBILE_STAGES[variant]
        stem = _scaled(16, width)
        self.stem = ConvBNAct(in_channels, stem, 3, 2, act=nn.Hardswish)
        self.stages = nn.ModuleList()
        prev = stem
        for out, stride, expand, blocks in stages:
            out = _scaled(out, width)
            layers = [InvertedResidual(prev, out, stride, expand)]
            layers += [InvertedResidual(out, out, 1, expand) for _ in range(blocks - 1)]
            self.stages.append(nn.Sequential(*layers))
            prev = out
        self.channels = tuple(_scaled(s[0], width) for s in stages)


# (out channels, convolutions after the strided one) per stage of the dense encoder.
DENSE_STAGES: tuple[tuple[int, int], ...] = ((32, 1), (64, 1), (128, 2), (192, 2))


class DenseEncoder(StagedEncoder):
    """A stride-2 stem then four stages of plain 3×3 conv-BN-ReLU layers (the first strided each).

    Cheap to *train* on a CPU, where depthwise convolutions' backward pass is slow: measured in CPU time
    per 512² crop (batch 4, one thread, forward + DB loss + backward), 0.15 s against 0.26 s for the
    MobileNetV3-like ``small`` encoder, with 2.7× its parameters (most of them at the cheap 1/16 and
    1/32 scales).
    """

    def __init__(self, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        stem = _scaled(16, width)
        self.stem = ConvBNAct(in_channels, stem, 3, 2)
        self.stages = nn.ModuleList()
        prev = stem
        for out, extra in DENSE_STAGES:
            out = _scaled(out, width)
            layers = [ConvBNAct(prev, out, 3, 2)] + [ConvBNAct(out, out, 3) for _ in range(extra)]
            self.stages.append(nn.Sequential(*layers))
            prev = out
        self.channels = tuple(_scaled(c, width) for c, _ in DENSE_STAGES)


def build_encoder(backbone: str, width: float = 1.0) -> MobileEncoder | DenseEncoder:
    """``tiny`` or ``small`` (MobileNetV3-like) or ``dense`` (plain convolutions)."""
    if backbone == "dense":
        return DenseEncoder(width)
    if backbone not in MOBILE_STAGES:
        raise ConfigError(f"unknown detection backbone {backbone!r}; choose one of {[*MOBILE_STAGES, 'dense']}")
    return MobileEncoder(backbone, width)


class FPN(nn.Module):
    """Top-down feature pyramid fused at 1/4 scale: levels smoothed to ``inner // 4`` channels and stacked."""

    def __init__(self, in_channels: tuple[int, ...], inner: int = 64) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(ConvBNAct(c, inner, 1) for c in in_channels)
        self.smooth = nn.ModuleList(ConvBNAct(inner, inner // 4, 3) for _ in in_channels)
        self.out_channels = inner // 4 * len(in_channels)

    def forward(self, features: list[Tensor]) -> Tensor:
        laterals = [lat(f) for lat, f in zip(self.lateral, features, strict=True)]
        for i in range(len(laterals) - 1, 0, -1):
            # Sizes come from the finer map so inputs that are not multiples of 32 still line up.
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="nearest"
            )
        target = laterals[0].shape[-2:]
        outs = [self.smooth[0](laterals[0])]
        for smooth, lat in zip(self.smooth[1:], laterals[1:], strict=True):
            outs.append(F.interpolate(smooth(lat), size=target, mode="nearest"))
        return torch.cat(outs, dim=1)
