"""Convolution blocks: conv-BN-activation, MobileNetV2-style inverted residuals, ResNet basic blocks.

All blocks use fixed kernels and strides only (no adaptive pooling), so an exported graph accepts any
input width.
"""

from __future__ import annotations

from torch import Tensor, nn

Stride = int | tuple[int, int]


def _pair(value: Stride) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) → BatchNorm → activation (ReLU by default; ``act=None`` for none)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int | tuple[int, int] = 3,
        stride: Stride = 1,
        groups: int = 1,
        act: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        k = _pair(kernel)
        padding = (k[0] // 2, k[1] // 2)
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, k, _pair(stride), padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand → 3×3 depthwise (strided) → 1×1 project, residual when shapes match."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: Stride = 1,
        expand: int = 4,
        act: type[nn.Module] = nn.Hardswish,
    ) -> None:
        super().__init__()
        hidden = in_ch * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(in_ch, hidden, 1, act=act))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=act),
            ConvBNAct(hidden, out_ch, 1, act=None),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = _pair(stride) == (1, 1) and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.residual else out


class ResidualBlock(nn.Module):
    """ResNet basic block (two 3×3 convs) with a strided 1×1 shortcut when the shape changes."""

    def __init__(self, in_ch: int, out_ch: int, stride: Stride = 1) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_ch, out_ch, 3, stride)
        self.conv2 = ConvBNAct(out_ch, out_ch, 3, act=None)
        self.shortcut: nn.Module = (
            nn.Identity()
            if _pair(stride) == (1, 1) and in_ch == out_ch
            else ConvBNAct(in_ch, out_ch, 1, stride, act=None)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


def collapse_height(channels: int, feature_height: int, out_channels: int | None = None) -> nn.Module:
    """A conv whose kernel spans the whole (known) feature height: N×C×h×W → N×C'×1×W.

    The height is fixed by the model's input height, so this replaces an adaptive pool that would
    tie an exported graph to one width.
    """
    out = out_channels or channels
    if feature_height == 1 and out == channels:
        return nn.Identity()
    # No padding: the kernel covers exactly the remaining rows.
    return nn.Sequential(
        nn.Conv2d(channels, out, (feature_height, 1), bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)
    )


def to_sequence(features: Tensor) -> Tensor:
    """N×C×1×W feature map → N×W×C sequence (time runs along the width)."""
    return features.squeeze(2).permute(0, 2, 1).contiguous()
