"""Where detection training pages come from: ``--data`` / ``--val`` specs parsed into page sources.

A spec is ``KIND:ARGS`` with comma-separated ``key=value`` options (parsed by
``textlens.train.common.parse_source_spec``, as the recognition sources are):

- ``synth-pages:kind=mixed[,crops=2]``: endless synthetic pages (textlens.data.synth PageRenderer): kind
  document, receipt, card, scene, mixed, or scene_photo (text on the installed wallpapers: ``make scene-deps``;
  mix it in with weights, e.g. ``synth-pages:kind=scene_photo,weight=0.4`` beside ``synth-pages:kind=mixed``);
  ``crops`` training crops are cut from each rendered page (rendering costs more than cropping).
- ``manifest:PATH[,start=I][,stop=J]``: pages of a page manifest (records I..J-1); words marked
  ``ignore`` or ``###`` are masked out of the loss.
- ``fake-pages:n=32[,seed=S]``: pages of printed words (OpenCV Hershey fonts), for smoke tests.

Any spec takes ``weight=W`` to mix training sources. Indexed sources (manifest, fake-pages) also serve
validation; every source is read block by block for training (``textlens.train.stream``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from textlens.data.manifest import ManifestRecord, read_manifest
from textlens.data.samples import PageSample, WordAnnotation
from textlens.errors import AnnotationError, ConfigError
from textlens.train.common import SourceSpec, parse_source_spec
from textlens.train.stream import indexed_reader

KINDS = ("synth-pages", "manifest", "fake-pages")


def parse_page_source(text: str) -> SourceSpec:
    """Parse ``KIND:[PATH,]key=value,...``; raises ConfigError naming the bad part."""
    return parse_source_spec(text, KINDS, path_kinds=("manifest",))


class PageSource:
    """Annotated pages, read block by block for training; indexed sources also support len() and [i]."""

    crops_per_page = 1

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[PageSample]:
        """Training pages for one block of the stream, endlessly: an indexed source's ``count`` pages of its
        pass order (drawn from ``seed``) from position ``start``, then random ones; an endless source draws
        everything from ``rng`` and ignores the positions."""
        raise NotImplementedError


class IndexedPages(PageSource):
    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> PageSample:
        raise NotImplementedError

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[PageSample]:
        return indexed_reader(self, len(self), lambda i, _: self[i], start, count, rng, seed, what="pages")


class ManifestPages(IndexedPages):
    """Pages of a page manifest, records ``start`` to ``stop - 1``."""

    def __init__(self, path: str, start: int = 0, stop: int | None = None) -> None:
        self.path = path
        records = read_manifest(path)
        self.records: list[ManifestRecord] = [r for r in records[start:stop] if r.kind == "page"]
        if not self.records:
            raise AnnotationError(f"manifest:{path}: no page records (with 'words') in [{start}:{stop}]")

    def __str__(self) -> str:
        return f"manifest:{self.path}"

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> PageSample:
        record = self.records[index]
        return PageSample(image=record.load_image(), words=record.words, source=str(record.image))


FAKE_WORDS = (
    "TOTAL",
    "Date:",
    "invoice",
    "12.50",
    "Name",
    "road",
    "No.",
    "2024",
    "cash",
    "tax",
    "the",
    "form",
    "Page",
    "item",
    "QTY",
    "amount",
    "paid",
    "Street",
    "phone",
    "x",
)


class FakePages(IndexedPages):
    """Pages of printed words in OpenCV's Hershey fonts: deterministic per index, fast, no font files."""

    def __init__(self, n: int = 32, seed: int = 0, size: tuple[int, int] = (320, 256)) -> None:
        self.n, self.seed, self.size = n, seed, size

    def __str__(self) -> str:
        return f"fake-pages:n={self.n}"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> PageSample:
        rng = np.random.default_rng([self.seed, index])
        height, width = self.size
        image = np.full((height, width, 3), int(rng.integers(200, 256)), np.uint8)
        words: list[WordAnnotation] = []
        y = int(rng.integers(8, 24))
        while True:
            scale = float(rng.uniform(0.45, 1.0))
            (_, text_h), _ = cv2.getTextSize("Hg", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            if y + 2 * text_h > height - 4:
                break
            x = int(rng.integers(4, 30))
            while True:
                text = FAKE_WORDS[int(rng.integers(len(FAKE_WORDS)))]
                thick = int(rng.integers(1, 3))
                (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
                if x + w > width - 4:
                    break
                cv2.putText(image, text, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), thick, cv2.LINE_AA)
                words.append(WordAnnotation(text=text, box=(x - 1, y - 1, x + w + 1, y + h + base)))
                x += w + int(rng.integers(int(8 * scale), int(24 * scale) + 2))
            y += int(text_h * rng.uniform(2.0, 3.2))
        return PageSample(image=image, words=tuple(words), source=f"fake-pages:{index}")


class SynthPages(PageSource):
    """Endless synthetic pages from ``textlens.data.synth``'s PageRenderer."""

    def __init__(self, kind: str = "mixed", seed: int = 0, crops: int = 2) -> None:
        try:
            from textlens.data.synth.pages import PageRenderer
        except ImportError as exc:  # the page engine is optional at this layer
            raise ConfigError(f"synth-pages needs textlens.data.synth.pages ({exc})") from exc
        self.renderer = PageRenderer(kind=kind, seed=seed)
        self.kind = kind
        self.crops_per_page = max(1, crops)

    def __str__(self) -> str:
        return f"synth-pages:kind={self.kind}"

    def reader(self, start: int, count: int, rng: np.random.Generator, seed: Sequence[int]) -> Iterator[PageSample]:
        while True:  # a page is a function of the generator alone, so the block's generator decides them all
            yield self.renderer.sample(rng)


def build_page_source(spec: SourceSpec, seed: int = 0) -> PageSource:
    """Open the source a spec names (a manifest is read now, so a bad path fails before training)."""
    if spec.kind == "manifest":
        assert spec.path is not None
        return ManifestPages(spec.path, spec.int_option("start", 0) or 0, spec.int_option("stop", None))
    if spec.kind == "fake-pages":
        return FakePages(spec.int_option("n", 32) or 32, spec.int_option("seed", seed) or 0)
    return SynthPages(spec.options.get("kind", "mixed"), seed, spec.int_option("crops", 2) or 2)
