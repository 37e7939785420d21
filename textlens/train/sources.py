"""Where recognition training crops come from: ``--data`` specs parsed into crop sources.

A spec is ``KIND:ARGS`` with comma-separated ``key=value`` options (the first bare item of a file-backed
kind is its path), plus ``weight=`` for mixing:

- ``synth:preset=mixed,fonts=train``: endless synthetic lines (textlens.data.synth); ``langs=fr+de+pl`` draws
  their text from those languages' word lists (``textlens.data.synth.languages``; train with ``--charset
  latin_ext``)
- ``manifest:PATH``: a crop manifest, or a page manifest cut into crops (``crops=words`` takes every
  annotated box as it is, ``crops=lines`` groups a page's words into lines first)
- ``lmdb:PATH``: the usual text-recognition LMDB (``num-samples``, ``image-%09d``, ``label-%09d``)
- ``fake:n=256``: words rendered with Pillow's default font, for smoke tests without data files

Indexed sources (manifest, lmdb, fake) also serve validation; every source streams endlessly for training,
read block by block (``textlens.train.stream``): an indexed source in passes, each item once per pass.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.data.charset import Charset
from textlens.data.manifest import ManifestRecord, read_manifest
from textlens.data.samples import CropSample, WordAnnotation
from textlens.errors import AnnotationError, ConfigError
from textlens.runtime.crops import border_pixels, ink_row_span
from textlens.train.common import SourceSpec, parse_source_spec
from textlens.train.stream import indexed_reader

KINDS = ("synth", "manifest", "lmdb", "fake")


def parse_source(text: str) -> SourceSpec:
    """Parse ``KIND:[PATH,]key=value,...``; raises ConfigError naming the bad part."""
    return parse_source_spec(text, KINDS, path_kinds=("manifest", "lmdb"))


class CropSource:
    """A source of CropSamples. ``stream`` never ends; indexed sources also support len() and [i]."""

    augment = False  # real crops get light augmentation in training; synthetic ones are degraded already
    # How augmentation reframes a crop: "box" trims or pads the crop's own frame a little; "ink" first cuts
    # it to its ink rows, then pads top and bottom by INK_MARGIN, so the margin no longer tells sources apart.
    frame = "box"
    # Whether the transcriptions' letter case is the print's: SROIE writes every receipt line in capitals,
    # also the half of them printed in lower case ("Total Sales" as "TOTAL SALES"), which taught the
    # recogniser to read receipt-like lower case as capitals. With ``case=any`` a letter is learnt in
    # either case (the CTC loss sees the sum of both classes), so such a source teaches the letters only.
    case_known = True

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[CropSample]:
        """Training crops for one block of the stream, endlessly: an indexed source's ``count`` items of its
        pass order (drawn from ``seed``) from position ``start``, then random ones; an endless source draws
        everything from ``rng`` and ignores the positions."""
        raise NotImplementedError


class IndexedSource(CropSource):
    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> CropSample:
        raise NotImplementedError

    def training_item(self, index: int, rng: np.random.Generator) -> CropSample:
        """Item ``index`` as training sees it (``rng`` may vary its cut)."""
        return self[index]

    def pass_order(self, rng: np.random.Generator) -> np.ndarray:
        """The item indices of one pass, in the order it reads them."""
        return rng.permutation(len(self))

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[CropSample]:
        return indexed_reader(self, len(self), self.training_item, start, count, rng, seed, self.pass_order, "samples")


def _cut(page: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator | None) -> np.ndarray:
    """A crop of ``page`` at ``box``; in training (rng given) its edges move by up to 15% of its height."""
    x0, y0, x1, y1 = box
    if rng is not None:
        h = max(y1 - y0, 1.0)
        jitter = rng.uniform(-0.05, 0.15, 4) * h
        x0, y0, x1, y1 = x0 - jitter[0], y0 - jitter[1], x1 + jitter[2], y1 + jitter[3]
    H, W = page.shape[:2]
    xa, ya = int(np.clip(np.floor(x0), 0, W - 1)), int(np.clip(np.floor(y0), 0, H - 1))
    xb, yb = int(np.clip(np.ceil(x1), xa + 1, W)), int(np.clip(np.ceil(y1), ya + 1, H))
    return page[ya:yb, xa:xb]


def _line_annotations(words: tuple[WordAnnotation, ...], width: int, height: int) -> list[WordAnnotation]:
    """Group a page's word annotations into line annotations (reading order, words joined by spaces)."""
    from textlens.document import Word
    from textlens.layout import page_from_words

    kept = [Word(text=w.text, box=w.box) for w in words if not w.is_dont_care and w.text.strip()]
    page = page_from_words(kept, width, height)
    return [
        WordAnnotation(text=line.text, box=line.box)
        for block in page.blocks
        for line in block.lines
        if line.box is not None
    ]


class ManifestSource(IndexedSource):
    """Crops from a manifest: crop records as they are, page records cut at their boxes."""

    augment = True

    def __init__(self, path: str | Path, crops: str = "words", limit: int | None = None) -> None:
        if crops not in ("words", "lines"):
            raise ConfigError(f"manifest {path}: crops must be 'words' or 'lines', got {crops!r}")
        self.path, self.crops = Path(path), crops
        self.records: list[ManifestRecord] = read_manifest(self.path, limit)
        self.items: list[tuple[int, int]] = []  # (record, annotation) pairs; annotation -1 = whole crop
        self._lines: dict[int, list[WordAnnotation]] = {}
        self._record_items: list[np.ndarray] = []  # the item indices of each record, for page-wise passes
        for r, record in enumerate(self.records):
            first = len(self.items)
            if record.kind == "crop":
                self.items.append((r, -1))
            elif record.kind == "page":
                self.items += [(r, a) for a in range(len(self._annotations(r, None)))]
            if len(self.items) > first:
                self._record_items.append(np.arange(first, len(self.items)))
        self._cache: tuple[int, np.ndarray] | None = None

    def __str__(self) -> str:
        return f"manifest:{self.path}"

    def _annotations(self, r: int, image: np.ndarray | None) -> list[WordAnnotation]:
        words = self.records[r].words
        if self.crops == "words":
            return [w for w in words if not w.is_dont_care and w.text.strip()]
        if r not in self._lines:
            # Line grouping needs the page size only for layout columns; the boxes' extent is enough.
            if image is None:
                width = int(max((w.box[2] for w in words), default=1)) + 1
                height = int(max((w.box[3] for w in words), default=1)) + 1
            else:
                height, width = image.shape[:2]
            self._lines[r] = _line_annotations(words, width, height)
        return self._lines[r]

    def _image(self, r: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != r:
            self._cache = (r, self.records[r].load_image())
        return self._cache[1]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> CropSample:
        return self._crop(index, None)

    def training_item(self, index: int, rng: np.random.Generator) -> CropSample:
        return self._crop(index, rng)

    def _crop(self, index: int, rng: np.random.Generator | None) -> CropSample:
        """Crop ``index``; in training (``rng`` given) a page's word or line is cut with jittered edges."""
        r, a = self.items[index]
        record = self.records[r]
        image = self._image(r)
        if a < 0:
            return CropSample(image, record.text or "", str(record.image))
        word = self._annotations(r, image)[a]
        return CropSample(_cut(image, word.box, rng), word.text, f"{record.image}#{a}")

    def pass_order(self, rng: np.random.Generator) -> np.ndarray:
        # Pages in a random order, each page's crops together: a pass loads each page once (the width
        # buckets downstream mix the crops of a page with the others).
        pages = [self._record_items[int(r)] for r in rng.permutation(len(self._record_items))]
        return np.concatenate(pages) if pages else np.zeros(0, np.int64)

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[CropSample]:
        if not self.items:
            raise AnnotationError(f"manifest {self.path} holds no usable crops")
        return super().reader(start, count, rng, seed)


class LmdbSource(IndexedSource):
    """The LMDB layout of the common text-recognition benchmarks (one store or a folder of shards)."""

    augment = True

    def __init__(self, path: str | Path) -> None:
        from textlens.data.lmdb_store import LmdbReader

        self.path = Path(path)
        self.reader = LmdbReader(self.path)  # opens its environments lazily in each worker process

    def __str__(self) -> str:
        return f"lmdb:{self.path}"

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int) -> CropSample:
        return self.reader[index]


class FakeSource(IndexedSource):
    """Random words drawn with Pillow's default font: deterministic per (seed, index), no files needed."""

    def __init__(
        self,
        n: int = 256,
        seed: int = 0,
        alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789",
        max_chars: int = 8,
    ) -> None:
        self.n, self.seed, self.alphabet, self.max_chars = n, seed, alphabet, max_chars

    def __str__(self) -> str:
        return f"fake:n={self.n},seed={self.seed}"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> CropSample:
        rng = random.Random(self.seed * 1_000_003 + index)
        text = "".join(rng.choice(self.alphabet) for _ in range(rng.randint(2, self.max_chars)))
        return CropSample(render_text(text, size=rng.randint(18, 26)), text, f"fake[{index}]")


def render_text(text: str, size: int = 22) -> np.ndarray:
    """``text`` in black on white with Pillow's default font (RGB uint8), a few pixels of margin."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    x0, y0, x1, y1 = font.getbbox(text)
    canvas = Image.new("RGB", (x1 - x0 + 8, y1 - y0 + 8), "white")
    ImageDraw.Draw(canvas).text((4 - x0, 4 - y0), text, fill="black", font=font)
    return np.asarray(canvas)


class SynthSource(CropSource):
    """Endless synthetic crops from textlens.data.synth, a distinct stream per seed."""

    def __init__(
        self,
        charset: Charset,
        preset: str = "mixed",
        fonts: str = "train",
        seed: int = 0,
        langs: tuple[str, ...] | None = None,
    ) -> None:
        self.charset, self.preset, self.fonts, self.seed, self.langs = charset, preset, fonts, seed, langs
        self._renderer: Any = None

    def __str__(self) -> str:
        langs = f",langs={'+'.join(self.langs)}" if self.langs else ""
        return f"synth:preset={self.preset},fonts={self.fonts}{langs}"

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[CropSample]:
        # Built on first use, in the process that renders (the font tables are costly to build and to ship).
        if self._renderer is None:
            from textlens.data.synth.lines import LineRenderer

            self._renderer = LineRenderer(
                preset=self.preset, charset=self.charset, fonts=self.fonts, seed=self.seed, langs=self.langs
            )
        while True:  # a line is a function of the generator alone, so the block's generator decides them all
            yield self._renderer.sample(rng)


def build_source(spec: SourceSpec, charset: Charset, seed: int = 0) -> CropSource:
    """Open the source a spec names (manifests are read now, so a bad path fails before training)."""
    known = {
        "synth": {"preset", "fonts", "langs"},
        "manifest": {"crops", "limit", "aug", "frame", "case"},
        "lmdb": {"aug", "frame", "case"},
        "fake": {"n", "seed", "alphabet", "max_chars"},
    }[spec.kind]
    unknown = set(spec.options) - known
    if unknown:
        raise ConfigError(f"data source {spec}: unknown option(s) {sorted(unknown)}; known: {sorted(known)}")
    source: CropSource
    if spec.kind == "synth":
        langs = tuple(spec.options["langs"].split("+")) if spec.options.get("langs") else None
        source = SynthSource(
            charset, spec.options.get("preset", "mixed"), spec.options.get("fonts", "train"), seed, langs
        )
    elif spec.kind == "manifest":
        source = ManifestSource(spec.path or "", spec.options.get("crops", "words"), spec.int_option("limit", None))
    elif spec.kind == "lmdb":
        source = LmdbSource(spec.path or "")
    else:
        source = FakeSource(
            n=spec.int_option("n", 256) or 256,
            seed=spec.int_option("seed", 0) or 0,
            alphabet=spec.options.get("alphabet", "abcdefghijklmnopqrstuvwxyz0123456789"),
            max_chars=spec.int_option("max_chars", 8) or 8,
        )
    if "aug" in spec.options:
        source.augment = spec.options["aug"] not in ("0", "false", "no")
    if "frame" in spec.options:
        if spec.options["frame"] not in ("box", "ink"):
            raise ConfigError(f"data source {spec}: frame must be 'box' or 'ink', got {spec.options['frame']!r}")
        source.frame = spec.options["frame"]
    if "case" in spec.options:
        if spec.options["case"] not in ("exact", "any"):
            raise ConfigError(f"data source {spec}: case must be 'exact' or 'any', got {spec.options['case']!r}")
        source.case_known = spec.options["case"] == "exact"
    return source


# Margins of a reframed real crop, per side, in crop heights: negative trims, positive pads with the
# border colour. Real crops are cut with one fixed margin (recipes/prepare_real_crops.py: 0.1 of the box
# height) and are seen ~15 times each in a run; crnn_small (trained without this) read the held-out SROIE
# lines 2.6 points worse (ci-alnum) when they were given 5 % more margin, and tight ic13 crops 2.3 points
# better: it had learnt the one framing. Trims stay under that 0.1 so no ink is cut.
REFRAME_CHANCE = 0.5
INK_FRAME_CHANCE = 0.8
REFRAME_MARGIN = (-0.06, 0.2)


def reframe_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The crop with each side trimmed or padded (border colour) by a random share of its height."""
    h, w = image.shape[:2]
    top, bottom, left, right = (round(float(m) * h) for m in rng.uniform(*REFRAME_MARGIN, size=4))
    y0, y1 = max(0, -top), h - max(0, -bottom)
    x0, x1 = max(0, -left), w - max(0, -right)
    if y1 - y0 < max(2, h // 2) or x1 - x0 < max(2, w // 2):
        return image
    out = image[y0:y1, x0:x1]
    colour = [int(v) for v in np.median(border_pixels(out), axis=0)]
    pads = (max(0, top), max(0, bottom), max(0, left), max(0, right))
    return cv2.copyMakeBorder(out, *pads, cv2.BORDER_CONSTANT, value=colour if out.ndim == 3 else colour[0])


# Top and bottom margins of an ink-framed crop, each in ink heights. The real crops' own margins differ by
# source (measured median per side: SROIE lines 0.27, all capitals; FUNSD words 0.25; FUNSD lines 0.13),
# and the bundled crnn_fast reads mixed case as capitals in loose frames (recipes/case_probe.py: 96 % exact
# at 0.05, 75 % at 0.2): a margin drawn independently of the source cannot teach "loose frame → capitals".
INK_MARGIN = (0.02, 0.5)


def reframe_to_ink(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The crop cut to its ink rows, then padded top and bottom (border colour) by random INK_MARGIN shares."""
    gray = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    if gray.shape[0] < 8 or float(gray.std()) < 8:
        return image
    span = ink_row_span(gray)
    if span is None or span[1] - span[0] < 4:
        return image
    out = image[span[0] : span[1]]
    colour = [int(v) for v in np.median(border_pixels(image), axis=0)]
    height = out.shape[0]
    top, bottom = (round(float(m) * height) for m in rng.uniform(*INK_MARGIN, size=2))
    return cv2.copyMakeBorder(out, top, bottom, 0, 0, cv2.BORDER_CONSTANT, value=colour if out.ndim == 3 else colour[0])


def augment_crop(image: np.ndarray, rng: np.random.Generator, frame: str = "box") -> np.ndarray:
    """Light photometric and geometric noise for real crops: margins, contrast, blur, small shear, noise."""
    if frame == "ink" and rng.random() < INK_FRAME_CHANCE:
        image = reframe_to_ink(image, rng)
    elif rng.random() < REFRAME_CHANCE:
        image = reframe_crop(image, rng)
    out = image.astype(np.float32)
    if rng.random() < 0.5:
        out = (out - 128.0) * rng.uniform(0.6, 1.2) + 128.0 + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        h, w = out.shape[:2]
        shear = rng.uniform(-0.25, 0.25)
        matrix = np.float32([[1, shear, -shear * h / 2], [0, 1, 0]])
        out = cv2.warpAffine(out, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.25:
        out = out + rng.normal(0, rng.uniform(2, 10), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)
