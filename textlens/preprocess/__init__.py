"""Pure image preprocessing for OCR: colour, binarisation, denoising, geometry and their composition.

Every step takes an RGB (H x W x 3) or gray (H x W) uint8 image and returns a `PreprocessResult`
whose 3x3 ``transform`` maps original page coordinates to output coordinates. Imports no torch.
"""

from textlens.preprocess.base import (
    AppliedStep,
    PreprocessResult,
    Step,
    affine_to_homogeneous,
    map_boxes,
    map_points,
    to_gray,
)
from textlens.preprocess.binarize import Binarize, adaptive_gaussian, otsu, sauvola, text_mask
from textlens.preprocess.color import (
    Clahe,
    Grayscale,
    PercentileStretch,
    clahe,
    grayscale,
    percentile_stretch,
)
from textlens.preprocess.denoise import Denoise, denoise
from textlens.preprocess.geometry import (
    CropMargins,
    Deskew,
    RescaleTextHeight,
    Rotate,
    content_box,
    crop_margins,
    deskew,
    estimate_skew,
    estimate_text_height,
    rescale,
    rescale_to_text_height,
    rotate_bound,
)
from textlens.preprocess.pipeline import Compose, Preprocessor, from_options

__all__ = [
    "AppliedStep",
    "Binarize",
    "Clahe",
    "Compose",
    "CropMargins",
    "Denoise",
    "Deskew",
    "Grayscale",
    "PercentileStretch",
    "PreprocessResult",
    "Preprocessor",
    "RescaleTextHeight",
    "Rotate",
    "Step",
    "adaptive_gaussian",
    "affine_to_homogeneous",
    "clahe",
    "content_box",
    "crop_margins",
    "denoise",
    "deskew",
    "estimate_skew",
    "estimate_text_height",
    "from_options",
    "grayscale",
    "map_boxes",
    "map_points",
    "otsu",
    "percentile_stretch",
    "rescale",
    "rescale_to_text_height",
    "rotate_bound",
    "sauvola",
    "text_mask",
    "to_gray",
]
