"""LineRenderer: synthetic word/line crops with labels, deterministic per seed, and parallel bulk
generation."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from textlens.data.charset import LATIN, LATIN_EXT, Charset, resolve_charset
from textlens.data.samples import CropSample
from textlens.data.synth.fonts import FontInfo, select_fonts
from textlens.data.synth.languages import LanguageSampler
from textlens.data.synth.presets import MIXED_WEIGHTS, PRESETS, Preset, get_preset
from textlens.data.synth.render import FontCache, choose, render_crop
from textlens.data.synth.scripts import ScriptSampler, script_fonts, script_for_langs
from textlens.data.synth.text import TextSampler
from textlens.errors import ConfigError

_LIGHT_STYLES = ("hairline", "thin", "extralight", "extra light", "light")


def _charset_string(charset: str | Charset | None) -> str:
    if charset is None:
        return LATIN
    if isinstance(charset, Charset):
        return charset.chars.replace(" ", "")
    return resolve_charset(charset)


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in a run seeded ``seed``: independent of workers and order."""
    return np.random.default_rng([int(seed), int(index)])


class LineRenderer:
    """Renders labelled word and line crops (RGB uint8) in the look of a preset.

    ``preset``: scan, photo, receipt, scene or mixed (default: a per-sample draw weighted towards the
    validation domains). ``fonts``: ``train``/``val``/``all`` (a split by font family) or a list of font paths
    or families. ``height``: resize every crop to this height (aspect kept); None keeps the capture size. A
    sample's text only uses characters of ``charset`` that its font covers. ``langs`` (e.g. ``("fr", "de",
    "pl")``, see ``textlens.data.synth.languages``): words, phrases, URLs and e-mails of these languages instead of
    English ones, in every preset; the charset then defaults to ``latin_ext``. Devanagari (``hi``, ``mr``, ``ne``)
    and Korean (``ko``) languages draw from ``textlens.data.synth.scripts`` instead: their charset (``deva``,
    ``hangul``) and the fonts that draw their script, a ``train`` split never holding a held-out family.
    """

    def __init__(
        self,
        preset: str | Preset = "mixed",
        charset: str | Charset | None = None,
        fonts: str | Sequence[str] = "train",
        height: int | None = None,
        seed: int = 0,
        langs: Sequence[str] | None = None,
    ) -> None:
        self.preset_name = preset.name if isinstance(preset, Preset) else preset
        single = get_preset(preset)
        self.presets: dict[str, Preset] = {single.name: single} if single else dict(PRESETS)
        self.preset_weights: Mapping[str, float] = {single.name: 1.0} if single else MIXED_WEIGHTS
        self.langs = tuple(langs or ())
        # Devanagari and Hangul languages (textlens.data.synth.scripts) bring their charset and fonts.
        self.script = script_for_langs(self.langs)
        if self.script is not None:
            self.charset = self.script.charset if charset is None else _charset_string(charset)
        else:
            self.charset = LATIN_EXT if charset is None and self.langs else _charset_string(charset)
        self.height = height
        self.seed = seed
        wanted = None if charset is None and not self.langs else self.charset
        self.fonts: list[FontInfo] = (
            script_fonts(self.script, fonts) if self.script is not None else select_fonts(fonts, charset=wanted)
        )
        charset_set = frozenset(self.charset)
        self._covered = [frozenset(c for c in charset_set if ord(c) in f.codepoints) for f in self.fonts]
        self.samplers = {name: self._sampler(p) for name, p in self.presets.items()}
        self._font_p = {name: self._font_weights(p) for name, p in self.presets.items()}
        self._font_cum = {name: np.cumsum(p) for name, p in self._font_p.items()}
        # drawing bigger than ~1.3× the output height only costs time: the crop is shrunk anyway
        self._max_px = None if height is None else max(8, round(height * 1.3))
        self._cache = FontCache()
        self._counter = 0

    def _sampler(self, preset: Preset) -> TextSampler:
        if self.script is not None:
            return ScriptSampler(self.langs, self.charset, preset.text_mix, preset.case_mix, preset.max_chars)
        if not self.langs:
            return TextSampler(self.charset, preset.text_mix, preset.case_mix, preset.max_chars)
        return LanguageSampler(self.langs, self.charset, preset.text_mix, preset.case_mix, preset.max_chars)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_cache"] = None  # Pillow fonts do not pickle; each process loads its own
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._cache = FontCache()

    def _font_weights(self, preset: Preset) -> np.ndarray:
        """Per-font probabilities: category weight of the preset, shared among a family's styles."""
        family_size: dict[str, int] = {}
        for f in self.fonts:
            family_size[f.family] = family_size.get(f.family, 0) + 1
        w = np.array(
            [
                preset.font_mix.get(f.category, 0.0)
                / family_size[f.family]
                * (0.3 if f.style.lower() in _LIGHT_STYLES or "hairline" in f.style.lower() else 1.0)
                * (preset.italic_fonts if f.italic else 1.0)
                for f in self.fonts
            ],
            np.float64,
        )
        if w.sum() <= 0:
            w = np.ones(len(self.fonts))
        return w / w.sum()

    def _draw_font(self, rng: np.random.Generator, cum: np.ndarray) -> int:
        return min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(self.fonts) - 1)

    def _pick_preset(self, rng: np.random.Generator) -> Preset:
        return self.presets[choose(rng, self.preset_weights)]

    def _finish(self, image: np.ndarray, text: str, preset: Preset, font: FontInfo) -> CropSample:
        if self.height is not None:
            h, w = image.shape[:2]
            new_w = max(1, round(w * self.height / h))
            interp = cv2.INTER_AREA if self.height < h else cv2.INTER_CUBIC
            image = cv2.resize(image, (new_w, self.height), interpolation=interp)
        return CropSample(
            image=np.ascontiguousarray(image), text=text, source=f"synth:{preset.name}:{Path(font.path).name}"
        )

    def _context(
        self,
        rng: np.random.Generator,
        sampler: TextSampler,
        allowed: frozenset[str],
        preset: Preset,
        text: str,
    ) -> tuple[str, str, str, str]:
        """Neighbouring words and lines a detector's crop would partly include."""
        if rng.random() >= preset.context_p:
            return ("", "", "", "")
        parts = []
        for p in (0.5, 0.5, 0.3, 0.3):
            parts.append(sampler.sample(rng, allowed) if rng.random() < p else "")
        width = len(text) + 8  # lines above and below only need to span the crop
        for i in (2, 3):
            if parts[i]:
                parts[i] = (parts[i] + " " + sampler.sample(rng, allowed))[:width]
        return (parts[0], parts[1], parts[2], parts[3])

    def sample(self, rng: np.random.Generator | None = None) -> CropSample:
        """A random text in a random font and look. Without ``rng``, draws from the renderer's own seed
        stream."""
        rng = rng if rng is not None else self._next_rng()
        preset = self._pick_preset(rng)
        sampler = self.samplers[preset.name]
        # The text first, then a font that has every one of its letters: drawing the font first and dropping
        # the letters it lacks would teach misspelt words (a third of the fonts miss some accented letters).
        text = sampler.sample(rng)
        font_index = self._font_for(rng, preset, text)
        if font_index is None:
            font_index = self._draw_font(rng, self._font_cum[preset.name])
            text = sampler.sample(rng, self._covered[font_index])
        font = self.fonts[font_index]
        context = self._context(rng, sampler, self._covered[font_index], preset, text)
        image = render_crop(text, font, self._cache, preset, rng, context, self._max_px)
        return self._finish(image, text, preset, font)

    def _font_for(self, rng: np.random.Generator, preset: Preset, text: str) -> int | None:
        """A font of the preset's mixture that covers every character of ``text`` (None when none does)."""
        index = self._draw_font(rng, self._font_cum[preset.name])
        needed = {c for c in text if not c.isspace()}
        if needed <= self._covered[index]:
            return index
        ok = np.fromiter((needed <= cov for cov in self._covered), bool, len(self._covered))
        p = self._font_p[preset.name] * ok
        if p.sum() <= 0:
            return None
        return self._draw_font(rng, np.cumsum(p))

    def render(self, text: str, rng: np.random.Generator | None = None) -> CropSample:
        """Render a given text in a random font that covers every character of it."""
        rng = rng if rng is not None else self._next_rng()
        preset = self._pick_preset(rng)
        needed = {c for c in text if not c.isspace()}
        ok = np.array([needed <= cov for cov in self._covered])
        if not ok.any():
            raise ConfigError(f"no selected font covers every character of {text!r}")
        p = self._font_p[preset.name] * ok
        p = p / p.sum() if p.sum() > 0 else ok / ok.sum()
        font_index = self._draw_font(rng, np.cumsum(p))
        font = self.fonts[font_index]
        context = self._context(rng, self.samplers[preset.name], self._covered[font_index], preset, text)
        image = render_crop(text, font, self._cache, preset, rng, context, self._max_px)
        return self._finish(image, text, preset, font)

    def _next_rng(self) -> np.random.Generator:
        rng = sample_rng(self.seed, self._counter)
        self._counter += 1
        return rng

    def sample_at(self, index: int, seed: int | None = None) -> CropSample:
        """Sample ``index`` of the run seeded ``seed`` (default: the renderer's): the same wherever it is
        computed."""
        return self.sample(sample_rng(self.seed if seed is None else seed, index))

    def __iter__(self) -> Iterator[CropSample]:
        while True:
            yield self.sample()


# --- parallel bulk generation ---------------------------------------------------------------------------
class IndexedRenderer(Protocol):
    def sample_at(self, index: int, seed: int | None = None) -> Any: ...


_WORKER: IndexedRenderer | None = None


def _init_worker(renderer: IndexedRenderer) -> None:
    global _WORKER
    cv2.setNumThreads(1)
    _WORKER = renderer


def _render_index(args: tuple[int, int]) -> Any:
    assert _WORKER is not None
    seed, index = args
    return _WORKER.sample_at(index, seed)


def iter_generate(
    renderer: IndexedRenderer,
    count: int,
    seed: int = 0,
    workers: int = 1,
    start: int = 0,
    chunksize: int = 16,
) -> Iterator[Any]:
    """Samples ``start .. start+count-1`` of the run seeded ``seed``, in order; the same for any ``workers``.

    Works for any renderer with ``sample_at(index, seed)`` (``LineRenderer``, ``PageRenderer``).
    """
    indices = [(seed, i) for i in range(start, start + count)]
    if workers <= 1:
        cv2.setNumThreads(1)
        for _, i in indices:
            yield renderer.sample_at(i, seed)
        return
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(renderer,)) as pool:
        yield from pool.imap(_render_index, indices, chunksize=chunksize)


def generate(
    count: int,
    seed: int = 0,
    workers: int = 1,
    preset: str = "mixed",
    charset: str | None = None,
    fonts: str | Sequence[str] = "train",
    height: int | None = None,
) -> list[CropSample]:
    """``count`` crops of the run seeded ``seed``; identical whatever ``workers`` is."""
    renderer = LineRenderer(preset=preset, charset=charset, fonts=fonts, height=height, seed=seed)
    return list(iter_generate(renderer, count, seed, workers))
