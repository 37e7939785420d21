"""Building blocks shared by the model families: convolutions, sequence models, positions, attention."""

from textlens.models.layers.attention import AdditiveAttention, MultiHeadAttention, TransformerDecoderBlock
from textlens.models.layers.conv import ConvBNAct, InvertedResidual, ResidualBlock, collapse_height
from textlens.models.layers.positional import LearnedPositionalEncoding, SinusoidalPositionalEncoding
from textlens.models.layers.sequence import BiLSTM

__all__ = [
    "AdditiveAttention",
    "BiLSTM",
    "ConvBNAct",
    "InvertedResidual",
    "LearnedPositionalEncoding",
    "MultiHeadAttention",
    "ResidualBlock",
    "SinusoidalPositionalEncoding",
    "TransformerDecoderBlock",
    "collapse_height",
]
