"""The synthetic data engine: labelled word/line crops and annotated pages rendered from installed fonts.

Stable API (the trainers code against it):

- ``LineRenderer(preset="mixed", charset=None, fonts="train", height=None, seed=0)``
  - ``.sample(rng) -> CropSample`` (RGB uint8, text in the charset and covered by the chosen font)
  - ``.render(text, rng) -> CropSample`` (a given text, in a font covering all of it)
  - ``.sample_at(index, seed=None) -> CropSample`` (sample ``index`` of a seeded run)
- ``generate(count, seed, workers, preset=..., ...) -> list[CropSample]`` (same output for any ``workers``)
- ``PageRenderer(kind="mixed", seed=0).sample(rng) -> PageSample`` (words: boxes, polygons, ``extra["line"]``);
  ``kind="scene_photo"`` draws on the installed wallpapers (``backgrounds.BackgroundIndex``, ``make scene-deps``)
- ``PRESETS`` / ``Preset`` / ``PRESET_NAMES``; ``textlens.data.torch_data.SynthLineIterable`` for DataLoaders.
"""

from textlens.data.synth.lines import LineRenderer, generate, iter_generate, sample_rng
from textlens.data.synth.presets import MIXED_WEIGHTS, PRESET_NAMES, PRESETS, Preset, get_preset

__all__ = [
    "MIXED_WEIGHTS",
    "PRESETS",
    "PRESET_NAMES",
    "LineRenderer",
    "Preset",
    "generate",
    "get_preset",
    "iter_generate",
    "sample_rng",
]
