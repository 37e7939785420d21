"""Sequence models over N×T×C features: the stacked bidirectional LSTM of CRNN."""

from __future__ import annotations

from torch import Tensor, nn


class BiLSTM(nn.Module):
    """Stacked bidirectional LSTM, N×T×C → N×T×(2·hidden), optionally projected to ``out_features``."""

    def __init__(
        self,
        in_features: int,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.0,
        out_features: int | None = None,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            in_features,
            hidden,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.proj: nn.Module = nn.Linear(2 * hidden, out_features) if out_features else nn.Identity()
        self.out_features = out_features or 2 * hidden

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(x)
        return self.proj(out)
