"""OnnxRecognizer: reads word and line crops with an exported recogniser, through onnxruntime only.

Crops are resized to the model's input height keeping their aspect ratio, grouped by width into
batches (little padding), run, and decoded (greedy or beam CTC, optional lexicon; or attention
tokens). Results come back in input order.

Wide lines (CTC models): a crop whose resized width exceeds the config's ``input.max_width`` is cut
into chunks of ``max_width`` pixels overlapping by ``2 × height``. In each overlap the chunks are
joined at the time step where both are most sure there is no character (highest blank
probability, searched in the middle half of the overlap, away from the chunks' edges), and the
joined probability matrix is decoded as one line, so ``char_x`` stays relative to the whole crop.
Attention and parallel models cannot be chunked: their crops are squeezed to ``max_width``
(parallel models always take their fixed input width).

Second look: a crop read with a confidence below ``second_look_below`` is read again inverted and padded
(:func:`~textlens.runtime.crops.second_look_variants`), and a crop more than ``turn_tall`` times taller than
wide is also read turned by 90° either way (vertical text; a turned reading needs ``TURNED_MIN_CHARS``
characters); the most confident of the readings is kept.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textlens.data.charset import AttentionTokenizer, CTCTokenizer, DecoderKind, tokenizer_for
from textlens.errors import ConfigError, ModelError, UnreadableFile
from textlens.runtime import ctc
from textlens.runtime.base import Recognition
from textlens.runtime.crops import (
    TALL_CROP_RATIO,
    TURNED_MIN_CHARS,
    CropSpec,
    pad_batch,
    prepare_crop,
    second_look_variants,
    turned_views,
    width_buckets,
)
from textlens.runtime.ctc import Lexicon, softmax
from textlens.runtime.session import get_session

# A crop cut into chunks: overlap between neighbours, in multiples of the input height.
CHUNK_OVERLAP_HEIGHTS = 2
BLANK = CTCTokenizer.blank
# Width used to prepare CTC crops before chunking: effectively unbounded.
_UNBOUNDED_WIDTH = 1 << 20


@dataclass(frozen=True)
class _Piece:
    """One model input: a prepared crop, or a chunk of one, and where it sits in the crop."""

    crop: int
    x0: int
    array: np.ndarray

    @property
    def width(self) -> int:
        return int(self.array.shape[2])


def read_lexicon(lexicon: str | Path | Iterable[str]) -> list[str]:
    """A word list given as a file (one word a line, UTF-8) or an iterable of words."""
    if isinstance(lexicon, str | Path):
        path = Path(lexicon)
        try:
            return path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"cannot read the lexicon ({exc})", path) from exc
    return list(lexicon)


# Chosen on the held-out FUNSD word crops (exact word accuracy +0.8 points; flat from 2 to 8 nats).
DEFAULT_CASE_TOLERANCE = 3.0
# Confidence below which a crop gets a second look. Measured with crnn_fast stage 6 (docs/recognition.md):
# 0.9 re-reads 21 % of ic13's and ic03's crops and 4 % / 2 % of the held-out FUNSD word / SROIE line crops;
# ci-alnum word accuracy ic13 78.7 → 80.5, ic03 77.9 → 81.7, FUNSD exact 89.88 → 89.92, SROIE CER 2.95 → 2.96 %.
DEFAULT_SECOND_LOOK_BELOW = 0.9


class OnnxRecognizer:
    """A :class:`~textlens.runtime.base.Recognizer` running ``folder/model.onnx`` on CPU.

    ``config`` is the folder's ``config.json`` (read when not given). ``beam_width`` > 0 uses CTC
    prefix beam search; ``lexicon`` (a file or a list of words) snaps each word to the closest
    entry. Both apply to CTC models; attention models only use the lexicon (closest by edit distance).
    ``case_tolerance`` (greedy CTC): words whose letters mix cases unusually ("CUSTOmEr") take the likeliest
    of lower/UPPER/Title case when it is at most this many nats less likely (``None``: off); see
    :func:`textlens.runtime.ctc.consistent_case`.
    ``second_look_below``: crops read with a lower confidence are read again as other views (inverted,
    padded) and keep the most confident reading (``None``: off). ``turn_tall``: crops more than this many
    times taller than wide are also read turned by 90° and 270° (``Recognition.turned_cw``; ``None``: off).
    """

    def __init__(
        self,
        folder: str | Path,
        config: dict[str, Any] | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        beam_width: int = 0,
        lexicon: str | Path | Iterable[str] | None = None,
        case_tolerance: float | None = DEFAULT_CASE_TOLERANCE,
        second_look_below: float | None = DEFAULT_SECOND_LOOK_BELOW,
        turn_tall: float | None = TALL_CROP_RATIO,
        providers: Sequence[Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.case_tolerance = case_tolerance
        self.second_look_below = second_look_below
        self.turn_tall = turn_tall
        if config is None:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.config = config
        self.name: str = config.get("name", self.folder.name)
        try:
            self.decoder = DecoderKind.from_config(config)
        except ConfigError as exc:
            raise ModelError(str(exc), self.folder / "config.json") from None
        if "charset" not in config:
            raise ModelError("config.json has no 'charset'", self.folder / "config.json")
        self.tokenizer = tokenizer_for(config["charset"], self.decoder)
        self.charset = self.tokenizer.chars
        self.spec = CropSpec.from_config(config.get("input", {}))
        if batch_size < 1 or beam_width < 0:
            raise ConfigError(f"batch_size must be ≥ 1 and beam_width ≥ 0, got {batch_size} and {beam_width}")
        self.batch_size = batch_size
        self.beam_width = beam_width
        self.lexicon = Lexicon(read_lexicon(lexicon), self.tokenizer) if lexicon is not None else None
        self.session = get_session(self.folder / "model.onnx", threads, providers)
        classes = (self.session.get_outputs()[0].shape or [None])[-1]
        if isinstance(classes, int) and classes != self.tokenizer.num_classes:
            raise ModelError(
                f"the model outputs {classes} classes, but a {self.decoder} model over its config's charset has "
                f"{self.tokenizer.num_classes}",
                self.folder / "model.onnx",
            )
        model_input = self.session.get_inputs()[0]
        self.input_name: str = model_input.name
        width = model_input.shape[3] if len(model_input.shape) == 4 else None
        # A graph with a static width is fed exactly that width: crops keep their aspect ratio and
        # are padded to it (squeezed only when wider); parallel models' configs ask for a plain resize
        # (min_width = max_width).
        self.fixed_width: int | None = width if isinstance(width, int) else None
        if self.fixed_width is not None:
            self.spec = dataclasses.replace(
                self.spec, max_width=self.fixed_width, min_width=min(self.spec.min_width, self.fixed_width)
            )

    def __repr__(self) -> str:
        return f"OnnxRecognizer({self.name!r}, decoder={self.decoder.value!r}, folder={str(self.folder)!r})"

    # -- public API ---------------------------------------------------------------------------------------

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """Read each RGB (or gray) uint8 crop as one line; an empty crop gives ``Recognition("", 0.0)``."""
        results: list[Recognition] = [Recognition("", 0.0)] * len(crops)
        clean: dict[int, np.ndarray] = {}
        for index, crop in enumerate(crops):
            crop = np.asarray(crop)
            if crop.ndim < 2 or crop.shape[0] == 0 or crop.shape[1] == 0:
                continue
            if crop.dtype != np.uint8:
                crop = np.clip(crop, 0, 255).astype(np.uint8)
            if crop.ndim == 3 and crop.shape[2] == 4:
                crop = crop[:, :, :3]  # RGBA: the alpha channel is not part of the text
            clean[index] = crop
        pieces = [piece for index, crop in clean.items() for piece in self._pieces(index, crop)]
        grouped = _group_by_crop(pieces, self._run(pieces))
        for index, parts in grouped.items():
            results[index] = self._decode(parts)
        if self.second_look_below is not None or self.turn_tall is not None:
            self._second_look(clean, grouped, results)
        return results

    def _views(self, crop: np.ndarray, first: Recognition) -> list[tuple[int, np.ndarray]]:
        """The other views of a crop worth reading, each with the clockwise turn it applies."""
        views = []
        if self.turn_tall is not None and crop.shape[0] > self.turn_tall * crop.shape[1]:
            views.extend(turned_views(crop))
        if self.second_look_below is not None and first.confidence < self.second_look_below:
            views.extend((0, view) for view in second_look_variants(crop))
        return views

    def _second_look(self, crops: dict[int, np.ndarray], first: dict[int, _Parts], results: list[Recognition]) -> None:
        """Read the other views of each crop (see ``_views``); keep each crop's most confident reading."""
        owner: list[tuple[int, int]] = []  # per view (numbered in this list): its crop and clockwise turn
        pieces: list[_Piece] = []
        for index, crop in crops.items():
            seen = first[index][0][0].array
            for turn, view in self._views(crop, results[index]):
                view_pieces = self._pieces(len(owner), view)
                # An inverted crop the polarity rule turns back is the first reading again.
                if len(view_pieces) == 1 and np.array_equal(view_pieces[0].array, seen):
                    continue
                owner.append((index, turn))
                pieces.extend(view_pieces)
        if not pieces:
            return
        for view, parts in _group_by_crop(pieces, self._run(pieces)).items():
            index, turn = owner[view]
            reading = self._decode(parts)
            if turn and len(reading.text.replace(" ", "")) < TURNED_MIN_CHARS:
                continue
            if reading.confidence > results[index].confidence:
                results[index] = dataclasses.replace(reading, turned_cw=turn)

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        """The T×K class probabilities the model gives one crop (chunks joined), for analysis."""
        pieces = self._pieces(0, np.asarray(crop))
        return _join_chunks(_group_by_crop(pieces, self._run(pieces))[0])

    # -- steps --------------------------------------------------------------------------------------------

    def _pieces(self, index: int, crop: np.ndarray) -> list[_Piece]:
        if self.decoder is not DecoderKind.CTC or self.fixed_width is not None:
            return [_Piece(index, 0, prepare_crop(crop, self.spec))]
        wide = prepare_crop(crop, dataclasses.replace(self.spec, max_width=_UNBOUNDED_WIDTH))
        return [_Piece(index, x0, chunk) for x0, chunk in chunk_crop(wide, self.spec)]

    def _run(self, pieces: Sequence[_Piece]) -> list[np.ndarray]:
        """Per piece, its T×K probabilities, trimmed to the steps its (unpadded) width produces."""
        outputs: list[np.ndarray] = [np.empty((0, 0), np.float32)] * len(pieces)
        widths = [p.width for p in pieces]
        max_pixels = self.batch_size * self.spec.height * max(self.spec.max_width, 1) // 2
        for batch in width_buckets(widths, max_batch=self.batch_size, max_pixels=max_pixels):
            images = pad_batch([pieces[i].array for i in batch], self.spec, width=self.fixed_width)
            logits = self.session.run(None, {self.input_name: images})[0]
            probs = softmax(logits.astype(np.float32, copy=False))
            stride = images.shape[3] / max(probs.shape[1], 1)
            for row, i in enumerate(batch):
                steps = probs.shape[1]
                if self.decoder is DecoderKind.CTC:
                    # Steps beyond the crop's own width only saw padding.
                    steps = min(steps, max(1, int(np.ceil(widths[i] / stride))))
                outputs[i] = probs[row, :steps]
        return outputs

    def _decode(self, parts: _Parts) -> Recognition:
        if isinstance(self.tokenizer, AttentionTokenizer):  # attention and parallel decoders
            result = ctc.attention_decode(parts[0][1], self.tokenizer)
            if self.lexicon is not None and len(self.lexicon) and result.text:
                text = " ".join(self.lexicon.closest(w) for w in result.text.split(" ") if w)
                if text != result.text:
                    # Per-character values belonged to the replaced spelling.
                    result = Recognition(text, result.confidence)
            return result
        probs = _join_chunks(parts)
        if self.lexicon is not None and len(self.lexicon):
            return ctc.lexicon_decode(probs, self.tokenizer, self.lexicon, self.beam_width)
        if self.beam_width > 0:
            return ctc.beam_decode(probs, self.tokenizer, self.beam_width)
        return ctc.greedy_decode(probs, self.tokenizer, case_tolerance=self.case_tolerance)


def chunk_crop(array: np.ndarray, spec: CropSpec) -> list[tuple[int, np.ndarray]]:
    """Cut a prepared C×H×W crop into (x0, chunk) pieces of at most ``spec.max_width`` overlapping columns."""
    width = array.shape[2]
    multiple = max(spec.width_multiple, 1)
    chunk = max(multiple, spec.max_width // multiple * multiple)
    if width <= chunk:
        return [(0, array)]
    overlap = -(-CHUNK_OVERLAP_HEIGHTS * spec.height // multiple) * multiple
    step = max(multiple, chunk - overlap)
    pieces = []
    x0 = 0
    while True:
        pieces.append((x0, array[:, :, x0 : x0 + chunk]))
        if x0 + chunk >= width:
            return pieces
        x0 += step


_Parts = list[tuple[_Piece, np.ndarray]]


def _group_by_crop(pieces: Sequence[_Piece], outputs: Sequence[np.ndarray]) -> dict[int, _Parts]:
    grouped: dict[int, _Parts] = {}
    for piece, probs in zip(pieces, outputs, strict=True):
        grouped.setdefault(piece.crop, []).append((piece, probs))
    return grouped


def _join_chunks(parts: _Parts) -> np.ndarray:
    """One T×K matrix for a crop from its chunks' matrices, cut where neighbours agree on a blank."""
    if len(parts) == 1:
        return parts[0][1]
    first_piece, first_probs = parts[0]
    stride = first_piece.width / max(first_probs.shape[0], 1)
    joined = first_probs
    joined_start = 0  # global step of joined[0]
    for piece, probs in parts[1:]:
        offset = round(piece.x0 / stride)  # global step of probs[0]
        overlap_end = joined_start + joined.shape[0]
        margin = (overlap_end - offset) // 4
        lo, hi = offset + margin, max(offset + margin + 1, overlap_end - margin)
        candidates = np.arange(lo, min(hi, overlap_end, offset + probs.shape[0]))
        if candidates.size == 0:
            cut = min(overlap_end, offset + probs.shape[0])
        else:
            blank = joined[candidates - joined_start, BLANK] + probs[candidates - offset, BLANK]
            cut = int(candidates[int(np.argmax(blank))])
        joined = np.concatenate([joined[: cut - joined_start], probs[cut - offset :]])
    return joined
