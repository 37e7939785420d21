"""Named parameter sets for the synthetic engine: what text, fonts, looks and degradations each domain gets.

``scan`` models noisy ~100 dpi grey scanned forms (FUNSD), ``receipt`` thermal-printed receipt lines (SROIE),
``scene`` word crops from photos of signs (ICDAR13/IC03), ``photo`` phone photos of documents, ``print``
born-digital pages rendered at 150-400 dpi; ``mixed`` (the
training default) draws one of them per sample with ``MIXED_WEIGHTS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from textlens.errors import ConfigError

Range = tuple[float, float]


def _m(**kw: float) -> Mapping[str, float]:
    return MappingProxyType(kw)


@dataclass(frozen=True)
class Preset:
    """Everything that varies between domains. Probabilities are per sample; ranges are drawn uniformly."""

    name: str
    # text
    text_mix: Mapping[str, float]
    case_mix: Mapping[str, float]
    max_chars: int = 24
    # fonts: weight per category (mono, serif, sans, display) and chance of the font's own bold/italic faces
    font_mix: Mapping[str, float] = field(default_factory=lambda: _m(mono=1, serif=1, sans=1, display=0.3))
    font_px: Range = (14, 40)  # font size at capture resolution (before the final resize)
    # colours and backgrounds
    colour: str = "paper"  # "paper", "thermal" or "scene"
    paper: Range = (175, 255)  # paper brightness for the paper and thermal colour modes
    italic_fonts: float = 1.0  # weight of the fonts' own italic faces (receipts have none)
    backgrounds: Mapping[str, float] = field(default_factory=lambda: _m(flat=1, paper=1))
    # glyph styling
    bold_p: float = 0.1  # synthetic emboldening (stroke) on top of the font's own bold faces
    shear_p: float = 0.05  # synthetic italic
    underline_p: float = 0.0
    tracking_p: float = 0.2
    tracking: Range = (-0.03, 0.15)  # in em
    shadow_p: float = 0.0
    outline_p: float = 0.0
    # geometry
    rotate_deg: float = 1.0
    perspective: float = 0.0  # corner jitter as a fraction of the text height
    curve_p: float = 0.0
    curve: float = 0.0  # vertical sag at the ends as a fraction of the text height
    context_p: float = 0.3  # chance of neighbouring words or lines partly inside the crop
    pad_y: Range = (0.0, 0.25)  # per side, in text heights
    pad_x: Range = (0.0, 0.35)
    # ink (on the text mask, at capture resolution)
    ink: Range = (0.85, 1.0)  # ink strength: fading below 1
    bleed_p: float = 0.1
    erode_p: float = 0.1
    streak_p: float = 0.0  # thermal-head streaks
    grain_p: float = 0.0  # broken, speckled ink
    # optics and sensor (on the RGB crop)
    blur_p: float = 0.3
    blur_sigma: Range = (0.3, 1.0)
    motion_p: float = 0.0
    defocus_p: float = 0.0
    light_p: float = 0.1  # uneven illumination
    noise_sigma: Range = (0.0, 6.0)
    saltpepper_p: float = 0.0
    binarize_p: float = 0.0
    resample_p: float = 0.2  # down- then up-sampling
    resample: Range = (0.5, 0.9)
    jpeg_p: float = 0.3
    jpeg_q: Range = (30, 90)
    grey_p: float = 0.0  # the crop ends up single-channel (most scanners)

    def with_(self, **changes: object) -> Preset:
        return replace(self, **changes)  # type: ignore[arg-type]


SCAN = Preset(
    name="scan",
    text_mix=_m(
        word=0.3,
        common=0.25,
        punct_word=0.2,
        number=0.06,
        date=0.04,
        phone=0.02,
        code=0.04,
        price=0.03,
        alnum=0.02,
        chars=0.02,
        email=0.01,
        phrase=0.03,
    ),
    case_mix=_m(keep=0.5, lower=0.1, title=0.15, upper=0.2, mixed=0.05),
    max_chars=20,
    font_mix=_m(mono=1.3, serif=1.0, sans=1.0, display=0.15),
    font_px=(11, 24),
    colour="paper",
    backgrounds=_m(flat=1.5, paper=1.5, gradient=0.2),
    bold_p=0.15,
    shear_p=0.03,
    underline_p=0.08,
    tracking_p=0.15,
    tracking=(-0.02, 0.1),
    rotate_deg=1.2,
    perspective=0.03,
    context_p=0.45,
    pad_y=(0.0, 0.45),
    pad_x=(-0.02, 0.3),
    ink=(0.8, 1.0),
    bleed_p=0.3,
    erode_p=0.2,
    grain_p=0.2,
    blur_p=0.3,
    blur_sigma=(0.3, 0.6),
    light_p=0.05,
    noise_sigma=(0, 6),
    saltpepper_p=0.3,
    binarize_p=0.5,
    resample_p=0.35,
    resample=(0.65, 0.95),
    jpeg_p=0.3,
    jpeg_q=(40, 95),
    grey_p=0.9,
    paper=(215, 255),
    italic_fonts=0.3,
)

RECEIPT = Preset(
    name="receipt",
    text_mix=_m(
        receipt=0.45,
        price=0.1,
        date=0.05,
        time=0.03,
        code=0.07,
        word=0.08,
        phrase=0.1,
        number=0.05,
        phone=0.03,
        chars=0.02,
        alnum=0.02,
    ),
    # Receipts print mostly capitals, but a mix keeps "Total" from turning into the SROIE-style "TOTAL" prior.
    case_mix=_m(keep=0.25, lower=0.1, title=0.25, upper=0.3, mixed=0.1),
    max_chars=40,
    font_mix=_m(mono=3.0, serif=0.3, sans=1.2, display=0.6),
    font_px=(12, 28),
    colour="thermal",
    backgrounds=_m(flat=2.0, paper=1.0, gradient=0.3),
    bold_p=0.1,
    shear_p=0.0,
    tracking_p=0.3,
    tracking=(-0.02, 0.12),
    rotate_deg=1.0,
    perspective=0.04,
    curve_p=0.05,
    curve=0.05,
    context_p=0.35,
    pad_y=(0.0, 0.4),
    pad_x=(0.0, 0.25),
    ink=(0.65, 1.0),
    bleed_p=0.15,
    erode_p=0.25,
    streak_p=0.3,
    grain_p=0.2,
    blur_p=0.25,
    blur_sigma=(0.3, 0.6),
    motion_p=0.02,
    light_p=0.1,
    noise_sigma=(0, 5),
    resample_p=0.35,
    resample=(0.6, 0.95),
    jpeg_p=0.7,
    jpeg_q=(30, 90),
    grey_p=0.3,
    paper=(225, 255),
    italic_fonts=0.0,
)

SCENE = Preset(
    name="scene",
    text_mix=_m(
        word=0.35,
        common=0.3,
        number=0.08,
        alnum=0.05,
        code=0.04,
        punct_word=0.05,
        price=0.03,
        phone=0.02,
        url=0.02,
        chars=0.02,
        pseudo=0.04,
    ),
    case_mix=_m(keep=0.3, lower=0.15, title=0.25, upper=0.3),
    max_chars=16,
    font_mix=_m(mono=0.25, serif=0.8, sans=1.5, display=0.8),
    font_px=(16, 56),
    colour="scene",
    backgrounds=_m(flat=1.0, gradient=1.0, noise=1.0, scene=1.5, paper=0.2),
    bold_p=0.3,
    shear_p=0.08,
    underline_p=0.02,
    tracking_p=0.35,
    tracking=(-0.04, 0.4),
    shadow_p=0.12,
    outline_p=0.08,
    rotate_deg=4.0,
    perspective=0.12,
    curve_p=0.1,
    curve=0.12,
    context_p=0.25,
    pad_y=(-0.03, 0.25),
    pad_x=(-0.03, 0.3),
    ink=(0.85, 1.0),
    bleed_p=0.05,
    erode_p=0.05,
    blur_p=0.3,
    blur_sigma=(0.3, 1.2),
    motion_p=0.08,
    defocus_p=0.05,
    light_p=0.3,
    noise_sigma=(0, 8),
    resample_p=0.4,
    resample=(0.3, 0.85),
    jpeg_p=0.6,
    jpeg_q=(25, 90),
)

PHOTO = Preset(
    name="photo",
    text_mix=_m(
        word=0.3,
        common=0.25,
        punct_word=0.1,
        number=0.08,
        price=0.06,
        date=0.04,
        code=0.04,
        phrase=0.08,
        email=0.02,
        url=0.01,
        chars=0.02,
    ),
    case_mix=_m(keep=0.45, lower=0.15, title=0.15, upper=0.2, mixed=0.05),
    max_chars=24,
    font_mix=_m(mono=0.6, serif=1.0, sans=1.3, display=0.3),
    font_px=(12, 40),
    colour="paper",
    backgrounds=_m(flat=0.6, paper=1.0, gradient=1.0, noise=0.3),
    bold_p=0.15,
    shear_p=0.05,
    underline_p=0.03,
    tracking_p=0.2,
    rotate_deg=3.0,
    perspective=0.08,
    curve_p=0.15,
    curve=0.08,
    context_p=0.35,
    ink=(0.6, 1.0),
    bleed_p=0.1,
    erode_p=0.1,
    blur_p=0.5,
    blur_sigma=(0.3, 1.2),
    motion_p=0.1,
    defocus_p=0.06,
    light_p=0.5,
    noise_sigma=(1, 10),
    resample_p=0.4,
    resample=(0.4, 0.9),
    jpeg_p=0.7,
    jpeg_q=(30, 85),
)

# Born-digital print: PDF pages rendered at 150-400 dpi (manuals, reports, code listings). Crisp anti-aliased
# glyphs on white, small sizes, whole lines with punctuation and technical tokens, monospace often.
PRINT = Preset(
    name="print",
    text_mix=_m(
        sentence=0.22,
        phrase=0.2,
        word=0.12,
        common=0.06,
        command=0.14,
        punct_word=0.1,
        number=0.05,
        date=0.02,
        url=0.02,
        email=0.01,
        code=0.02,
        chars=0.04,
    ),
    case_mix=_m(keep=0.75, lower=0.05, title=0.1, upper=0.08, mixed=0.02),
    max_chars=40,
    font_mix=_m(mono=1.2, serif=1.3, sans=1.3, display=0.05),
    font_px=(12, 44),
    colour="paper",
    paper=(238, 255),
    backgrounds=_m(flat=3.0, paper=0.3, gradient=0.1),
    bold_p=0.05,
    shear_p=0.0,
    underline_p=0.03,
    tracking_p=0.05,
    tracking=(-0.01, 0.04),
    rotate_deg=0.2,
    perspective=0.0,
    context_p=0.5,
    pad_y=(0.0, 0.4),
    pad_x=(0.0, 0.3),
    ink=(0.9, 1.0),
    bleed_p=0.0,
    erode_p=0.0,
    blur_p=0.15,
    blur_sigma=(0.3, 0.5),
    light_p=0.0,
    noise_sigma=(0, 1.5),
    resample_p=0.3,
    resample=(0.6, 0.95),
    jpeg_p=0.1,
    jpeg_q=(70, 95),
    grey_p=0.5,
    italic_fonts=0.6,
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (SCAN, RECEIPT, SCENE, PHOTO, PRINT)})
# The mixture used for training: weighted towards what the validation sets look like (scene word crops are the
# most varied, so they get the biggest share).
MIXED_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"scene": 0.35, "scan": 0.2, "receipt": 0.15, "photo": 0.15, "print": 0.15}
)
PRESET_NAMES = (*PRESETS, "mixed")


def get_preset(name: str | Preset) -> Preset | None:
    """The named preset, or None for ``mixed``; raises ConfigError on an unknown name."""
    if isinstance(name, Preset):
        return name
    if name == "mixed":
        return None
    if name not in PRESETS:
        raise ConfigError(f"unknown synthetic preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return PRESETS[name]
