"""CNN backbones for recognisers: N×C×H×W → N×C'×1×(W/4), time running along the width.

Every backbone halves the height four times (H/16) and the width twice (W/4), then collapses the
remaining H/16 rows with a conv whose kernel spans them, so input heights must be multiples of 16
(32 and 48 are the documented ones) while widths stay free (multiples of 4).
"""

from __future__ import annotations

from torch import Tensor, nn

from textlens.errors import ConfigError
from textlens.models.layers.conv import ConvBNAct, InvertedResidual, ResidualBlock, collapse_height

# Strides of the four reducing stages: H/16 overall, W/4 overall.
STAGE_STRIDES: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 1), (2, 1))


def check_height(height: int) -> int:
    """The feature height left after the backbone (height/16); rejects heights it cannot collapse."""
    if height < 16 or height % 16:
        raise ConfigError(f"recogniser input height must be a multiple of 16 (32, 48, ...), got {height}")
    return height // 16


class Backbone(nn.Module):
    """A stack of stages followed by the height-collapsing conv; ``out_channels`` is C'."""

    out_channels: int

    def __init__(self, stages: nn.Sequential, channels: int, height: int, out_channels: int) -> None:
        super().__init__()
        self.stages = stages
        self.collapse = collapse_height(channels, check_height(height), out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.collapse(self.stages(x))


def mobile_backbone(
    in_channels: int,
    height: int,
    channels: tuple[int, ...] = (32, 64, 128, 256),
    depths: tuple[int, ...] = (1, 2, 2, 2),
    expand: int = 2,
) -> Backbone:
    """Light backbone of MobileNetV2 inverted residual blocks (fast on CPU)."""
    layers: list[nn.Module] = [ConvBNAct(in_channels, channels[0], 3, STAGE_STRIDES[0], act=nn.Hardswish)]
    prev = channels[0]
    for i, (ch, depth) in enumerate(zip(channels, depths, strict=True)):
        for j in range(depth):
            # The stem already applied stage 0's stride.
            stride = STAGE_STRIDES[i] if (j == 0 and i > 0) else (1, 1)
            layers.append(InvertedResidual(prev, ch, stride, expand=expand if prev > 16 else 2))
            prev = ch
    return Backbone(nn.Sequential(*layers), prev, height, prev)


def vgg_backbone(in_channels: int, height: int, channels: tuple[int, ...] = (64, 128, 256, 256, 384, 384)) -> Backbone:
    """The classic CRNN VGG: conv-pool(2,2), conv-pool(2,2), 2 convs-pool(2,1), 2 convs-pool(2,1)."""
    c = channels
    stages = nn.Sequential(
        ConvBNAct(in_channels, c[0]),
        nn.MaxPool2d(2, 2),
        ConvBNAct(c[0], c[1]),
        nn.MaxPool2d(2, 2),
        ConvBNAct(c[1], c[2]),
        ConvBNAct(c[2], c[3]),
        nn.MaxPool2d((2, 1), (2, 1)),
        ConvBNAct(c[3], c[4]),
        ConvBNAct(c[4], c[5]),
        nn.MaxPool2d((2, 1), (2, 1)),
    )
    return Backbone(stages, c[5], height, c[5])


def resnet_backbone(
    in_channels: int,
    height: int,
    channels: tuple[int, ...] = (64, 128, 256, 384),
    depths: tuple[int, ...] = (1, 2, 3, 2),
) -> Backbone:
    """A ResNet of basic blocks, the bigger and more accurate choice."""
    layers: list[nn.Module] = [ConvBNAct(in_channels, channels[0] // 2, 3)]
    prev = channels[0] // 2
    for i, (ch, depth) in enumerate(zip(channels, depths, strict=True)):
        for j in range(depth):
            layers.append(ResidualBlock(prev, ch, STAGE_STRIDES[i] if j == 0 else 1))
            prev = ch
    return Backbone(nn.Sequential(*layers), prev, height, prev)


def dense_backbone(
    in_channels: int, height: int, channels: tuple[int, ...] = (32, 64, 96, 128, 160, 192), out_channels: int = 256
) -> Backbone:
    """Six plain 3×3 conv-BN-ReLU layers, no pooling: fast to *train* on CPU, where depthwise convolutions'
    backward pass is slow (44 % of a mobile-backbone step); a training step ran 1.6–1.8× faster than the
    mobile backbone's at about the same parameter count."""
    c = channels
    stages = nn.Sequential(
        ConvBNAct(in_channels, c[0], 3, STAGE_STRIDES[0]),
        ConvBNAct(c[0], c[1], 3, STAGE_STRIDES[1]),
        ConvBNAct(c[1], c[2], 3, STAGE_STRIDES[2]),
        ConvBNAct(c[2], c[3], 3),
        ConvBNAct(c[3], c[4], 3, STAGE_STRIDES[3]),
        ConvBNAct(c[4], c[5], 3),
    )
    return Backbone(stages, c[5], height, out_channels)


BACKBONES = {"mobile": mobile_backbone, "vgg": vgg_backbone, "resnet": resnet_backbone, "dense": dense_backbone}


def build_backbone(name: str, in_channels: int, height: int) -> Backbone:
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[name](in_channels, height)
