"""Which kind of page an image is: a ``document`` (scan or render of paper) or a ``scene`` (a photo of the world).

The pipeline's ``domain="auto"`` decides per page with :func:`page_domain`, a rule on a 256-px thumbnail
(about 7 ms for a 1024×768 photo at one thread): a page is a document when at least ``PAPER_SHARE`` of its
pixels are paper — light (within ``PAPER_RANGE`` grey levels of the page's 95th percentile) and unsaturated
(max − min channel under ``PAPER_SATURATION``) — and it is not colourful (Hasler–Süsstrunk colourfulness at
most ``DOCUMENT_COLOURFULNESS``).

Chosen on the ICDAR 2003 training part (78 photos) and every FUNSD (149) and SROIE (150) page, checked on
the clean-print pages (80) and the ICDAR 2003 dev part (171 photos): paper share of documents 0.56–0.99
(FUNSD 0.56 at least, SROIE 0.57), of photos median 0.15 (5 % of them above 0.7, white signs shot close);
colourfulness of documents 0–23 (SROIE's tinted receipts), of photos median 35. Every document page stays a
document; 69 of 78 training photos and 150 of 171 dev photos are scenes, the rest (white or grey signs filling
the frame) read as documents, as before the rule. A phone photo of a receipt on a desk is a scene.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Domain = Literal["document", "scene"]
DOMAINS = ("auto", "document", "scene")

THUMBNAIL = 256  # long side of the image the rule looks at
PAPER_RANGE = 40.0  # grey levels under the page's 95th percentile that still count as paper
PAPER_SATURATION = 40.0  # max − min channel under which a pixel is grey (paper, print)
PAPER_SHARE = 0.5  # a page with less paper than this is a photo
DOCUMENT_COLOURFULNESS = 30.0  # a page more colourful than this is a photo (SROIE's most: 23)


def domain_statistics(image: np.ndarray) -> tuple[float, float]:
    """(paper share, colourfulness) of an RGB (or grey) uint8 image, measured on a ``THUMBNAIL`` thumbnail."""
    image = np.asarray(image)
    height, width = image.shape[:2]
    scale = min(1.0, THUMBNAIL / max(height, width, 1))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = image.astype(np.float32)
    if small.ndim == 2:
        small = small[..., None]
    small = small[..., :3]
    if small.shape[2] == 1:
        small = np.repeat(small, 3, axis=2)
    red, green, blue = small[..., 0], small[..., 1], small[..., 2]
    rg, yb = red - green, 0.5 * (red + green) - blue
    colourfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    grey = small.mean(axis=2)
    saturation = small.max(axis=2) - small.min(axis=2)
    top = float(np.percentile(grey, 95))
    paper = float(((grey >= top - PAPER_RANGE) & (saturation < PAPER_SATURATION)).mean())
    return paper, colourfulness


def page_domain(image: np.ndarray) -> Domain:
    """``"scene"`` for a photo of the world, ``"document"`` for paper (the module's rule)."""
    paper, colourfulness = domain_statistics(image)
    return "document" if paper >= PAPER_SHARE and colourfulness <= DOCUMENT_COLOURFULNESS else "scene"
