"""Decoding recogniser outputs with numpy only: greedy and beam CTC, lexicon constraint, attention tokens.

Every decoder turns a ``T×K`` matrix of per-step class probabilities into a :class:`Recognition`, reading the
class layout from the model's tokenizer (``textlens.data.charset.tokenizer_for``):

- **CTC** (:class:`~textlens.data.charset.CTCTokenizer`: the blank, then the charset): ``char_confidences`` are the
  highest probability the character reaches over the time steps aligned to it (for the letters of
  :data:`CASE_BY_SIZE`, of the letter in either case: a crop cannot show their case, so the split between
  "x" and "X" is not doubt about the letter; the page pipeline settles it by size), ``confidence`` is the
  mean of those (the mean of the per-step maximum probabilities when the text is empty: how sure
  the model is that there is nothing to read). ``char_x`` is the centre of each character's aligned
  steps as a fraction of the width, ``(t + 0.5) / T``, so a line can be cut into words at spaces.
- **Attention / parallel** tokens (:class:`~textlens.data.charset.AttentionTokenizer`): decoding stops at
  the first EOS; confidences are the softmax probabilities of the chosen tokens. These decoders
  have no alignment, so ``char_x`` spreads the characters evenly over the width (an estimate).

The mean is used for ``confidence`` rather than the product of probabilities because the product
shrinks with text length, which would make long lines look unreliable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from textlens.data.charset import AttentionTokenizer, CTCTokenizer, Tokenizer
from textlens.runtime.base import Recognition

BLANK = CTCTokenizer.blank
# Letters whose capital is the small letter drawn larger: alone, a crop cannot tell "x" from "X".
CASE_BY_SIZE = frozenset("cosuvwxzCOSUVWXZ")
_NEG_INF = -np.inf


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (also correct when ``logits`` are already log-probabilities)."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class Alignment:
    """A labelling and, for each label, the first and last time step aligned to it."""

    labels: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]


# ---------------------------------------------------------------------------------------------------------
# Greedy CTC


def greedy_alignment(probs: np.ndarray, blank: int = BLANK) -> Alignment:
    """Best path: argmax per step, repeats merged, blanks dropped; each label keeps its run of steps."""
    best = probs.argmax(axis=1)
    if best.size == 0:
        return Alignment((), ())
    # A run starts where the argmax changes; runs of the blank are dropped.
    starts = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
    ends = np.r_[starts[1:], best.size] - 1
    keep = best[starts] != blank
    return Alignment(
        tuple(int(v) for v in best[starts][keep]),
        tuple((int(s), int(e)) for s, e in zip(starts[keep], ends[keep], strict=True)),
    )


def describe(probs: np.ndarray, alignment: Alignment, tokenizer: CTCTokenizer) -> Recognition:
    """Text, confidences and x positions of a CTC alignment (see the module docstring)."""
    steps = probs.shape[0]
    if not alignment.labels:
        empty_conf = float(probs.max(axis=1).mean()) if steps else 0.0
        return Recognition("", empty_conf)
    confs = []
    for label, (s, e) in zip(alignment.labels, alignment.spans, strict=True):
        ch = tokenizer.char(label)
        classes = [label]
        if ch in CASE_BY_SIZE and (other := tokenizer.index.get(ch.swapcase())) is not None:
            classes.append(other)
        confs.append(min(float(probs[s : e + 1, classes].sum(axis=1).max()), 1.0))
    xs = tuple(((s + e) / 2 + 0.5) / steps for s, e in alignment.spans)
    text = "".join(tokenizer.char(label) for label in alignment.labels)
    return Recognition(text, float(np.mean(confs)), tuple(confs), xs)


def greedy_decode(probs: np.ndarray, tokenizer: CTCTokenizer, case_tolerance: float | None = None) -> Recognition:
    """Greedy (best path) CTC decoding of a ``T×K`` probability matrix (see :func:`consistent_case`)."""
    alignment = greedy_alignment(probs, tokenizer.blank)
    if case_tolerance is not None:
        alignment = consistent_case(probs, alignment, tokenizer, case_tolerance)
    return describe(probs, alignment, tokenizer)


# ---------------------------------------------------------------------------------------------------------
# Case prior


def consistent_case(probs: np.ndarray, alignment: Alignment, tokenizer: CTCTokenizer, tolerance: float) -> Alignment:
    """Give each word one of the usual case patterns (lower, UPPER, Title) when the model nearly agrees.

    A CTC recogniser decides each letter's case on its own, so words come out as "CUSTOmEr" or "LOvelace"
    when upper and lower case shapes are close. For each word (a run of labels between spaces) with at
    least two cased letters and a mixed pattern, the log-probability of every usual pattern is summed from
    each letter's upper- and lower-case probabilities over its aligned steps; the best pattern replaces
    the decoded one when it is at most ``tolerance`` nats less likely. Rarer patterns ("iPhone") that the
    model reads with confidence stay as they are.
    """
    index, char = tokenizer.index, tokenizer.char
    labels = list(alignment.labels)
    word: list[int] = []  # positions in ``labels`` of the current word's cased letters

    def settle(positions: list[int]) -> None:
        if len(positions) < 2:
            return
        upper_lp, lower_lp, raw_lp, raw_upper = [], [], [], []
        for pos in positions:
            ch = char(labels[pos])
            s, e = alignment.spans[pos]
            p_up = float(probs[s : e + 1, index[ch.upper()]].max())
            p_lo = float(probs[s : e + 1, index[ch.lower()]].max())
            upper_lp.append(np.log(max(p_up, 1e-12)))
            lower_lp.append(np.log(max(p_lo, 1e-12)))
            raw_upper.append(ch.isupper())
            raw_lp.append(upper_lp[-1] if ch.isupper() else lower_lp[-1])
        patterns = {
            "lower": [False] * len(positions),
            "upper": [True] * len(positions),
            "title": [True] + [False] * (len(positions) - 1),
        }
        if raw_upper in patterns.values():
            return
        scores = {
            name: sum(u if up else lo for u, lo, up in zip(upper_lp, lower_lp, pattern, strict=True))
            for name, pattern in patterns.items()
        }
        best = max(scores, key=lambda name: scores[name])
        if sum(raw_lp) - scores[best] <= tolerance:
            for pos, up in zip(positions, patterns[best], strict=True):
                ch = char(labels[pos])
                labels[pos] = index[ch.upper() if up else ch.lower()]

    for pos, label in enumerate(labels):
        ch = char(label)
        if ch.isspace():
            settle(word)
            word = []
        elif ch.upper() != ch.lower() and ch.upper() in index and ch.lower() in index:
            word.append(pos)
    settle(word)
    return Alignment(tuple(labels), alignment.spans)


# ---------------------------------------------------------------------------------------------------------
# CTC prefix beam search


def _log(probs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probs)


def prefix_beam_search(
    probs: np.ndarray, beam_width: int = 8, blank: int = BLANK, prune: float = 1e-4
) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search: the ``beam_width`` most probable labellings with their log-probabilities.

    Each prefix tracks the probability of ending in a blank and in a non-blank, so paths that
    collapse to the same text are summed (which greedy decoding cannot do). Classes below ``prune``
    at a step are not extended, which keeps the search fast on large charsets.
    """
    logp = _log(probs)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, _NEG_INF)}  # prefix -> (p_blank, p_char)
    for t in range(probs.shape[0]):
        candidates = np.flatnonzero(probs[t] >= prune)
        step: dict[tuple[int, ...], list[float]] = {}

        def add(
            prefix: tuple[int, ...], which: int, value: float, step: dict[tuple[int, ...], list[float]] = step
        ) -> None:
            entry = step.setdefault(prefix, [_NEG_INF, _NEG_INF])
            entry[which] = np.logaddexp(entry[which], value)

        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            add(prefix, 0, total + logp[t, blank])
            last = prefix[-1] if prefix else None
            for c in candidates:
                c = int(c)
                if c == blank:
                    continue
                if c == last:
                    # Repeating a character needs a blank in between; without one it extends the run.
                    add(prefix, 1, pnb + logp[t, c])
                    add((*prefix, c), 1, pb + logp[t, c])
                else:
                    add((*prefix, c), 1, total + logp[t, c])
        ranked = sorted(step.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam_width]
        beams = {prefix: (v[0], v[1]) for prefix, v in ranked}
    scored = [(prefix, float(np.logaddexp(pb, pnb))) for prefix, (pb, pnb) in beams.items()]
    return sorted(scored, key=lambda item: -item[1])


# ---------------------------------------------------------------------------------------------------------
# CTC forward algorithm and forced alignment


def _extended(labels: Sequence[int], blank: int) -> np.ndarray:
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    return ext


def _skip_allowed(ext: np.ndarray, blank: int) -> np.ndarray:
    """Where a path may jump two states (from one label to the next, skipping the blank between them)."""
    allowed = np.zeros(ext.size, dtype=bool)
    allowed[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    return allowed


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    """``values`` moved ``by`` places to the right, filled with -inf (same length)."""
    out = np.full_like(values, _NEG_INF)
    out[by:] = values[: values.size - by]
    return out


def ctc_log_likelihood(probs: np.ndarray, labels: Sequence[int], blank: int = BLANK) -> float:
    """log P(labels | probs) summed over every CTC alignment (the forward algorithm)."""
    steps = probs.shape[0]
    if steps == 0:
        return 0.0 if not labels else _NEG_INF
    logp = _log(probs)
    ext = _extended(labels, blank)
    skip = _skip_allowed(ext, blank)
    alpha = np.full(ext.size, _NEG_INF)
    alpha[0] = logp[0, ext[0]]
    if ext.size > 1:
        alpha[1] = logp[0, ext[1]]
    for t in range(1, steps):
        step2 = np.where(skip, _shift(alpha, 2), _NEG_INF)
        alpha = np.logaddexp(np.logaddexp(alpha, _shift(alpha, 1)), step2) + logp[t, ext]
    tail = alpha[-2:] if ext.size > 1 else alpha[-1:]
    return float(np.logaddexp.reduce(tail))


def forced_alignment(probs: np.ndarray, labels: Sequence[int], blank: int = BLANK) -> Alignment:
    """The most probable single CTC path that spells ``labels`` (Viterbi); empty spans if none fits."""
    steps = probs.shape[0]
    labels = tuple(int(v) for v in labels)
    if not labels or steps == 0:
        return Alignment((), ())
    logp = _log(probs)
    ext = _extended(labels, blank)
    skip = _skip_allowed(ext, blank)
    size = ext.size
    score = np.full(size, _NEG_INF)
    score[0] = logp[0, ext[0]]
    score[1] = logp[0, ext[1]]
    back = np.zeros((steps, size), dtype=np.int8)  # how many states the best path moved at each step
    for t in range(1, steps):
        options = np.stack([score, _shift(score, 1), np.where(skip, _shift(score, 2), _NEG_INF)])
        back[t] = options.argmax(axis=0)
        score = options.max(axis=0) + logp[t, ext]
    state = size - 1 if score[-1] >= score[-2] else size - 2
    if not np.isfinite(score[state]):
        return Alignment((), ())
    path = np.empty(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    spans = []
    for k in range(len(labels)):
        hits = np.flatnonzero(path == 2 * k + 1)
        spans.append((int(hits[0]), int(hits[-1])))
    return Alignment(labels, tuple(spans))


def beam_decode(probs: np.ndarray, tokenizer: CTCTokenizer, beam_width: int = 8) -> Recognition:
    """Prefix beam search, then the best path of the winning text for confidences and positions."""
    best = prefix_beam_search(probs, beam_width, tokenizer.blank)[0][0]
    return describe(probs, forced_alignment(probs, best, tokenizer.blank), tokenizer)


# ---------------------------------------------------------------------------------------------------------
# Lexicon constraint


class Lexicon:
    """A user word list that recognised words are snapped to.

    For each word the recogniser read, a shortlist of the ``candidates`` closest lexicon entries by
    edit distance (rapidfuzz) is rescored with the CTC forward algorithm on the word's time steps,
    and the most probable entry replaces the word. Entries using characters the model cannot
    output are dropped.
    """

    def __init__(self, words: Iterable[str], tokenizer: Tokenizer, candidates: int = 10) -> None:
        self.tokenizer = tokenizer
        index = tokenizer.index
        self.words = sorted({w for w in (w.strip() for w in words) if w and all(c in index for c in w)})
        self._set = set(self.words)
        self.candidates = candidates

    def __len__(self) -> int:
        return len(self.words)

    def shortlist(self, word: str) -> list[str]:
        """The lexicon entries closest to ``word`` by Levenshtein distance, closest first."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        if word in self._set:
            return [word]
        found = process.extract(word, self.words, scorer=Levenshtein.distance, limit=self.candidates)
        return [entry for entry, _, _ in found]

    def best_ctc(self, probs: np.ndarray, word: str, blank: int = BLANK) -> str:
        """The shortlisted entry with the highest CTC probability over ``probs``."""
        options = self.shortlist(word)
        if not options:
            return word
        scores = [ctc_log_likelihood(probs, self.tokenizer.char_ids(entry), blank) for entry in options]
        return options[int(np.argmax(scores))]

    def closest(self, word: str) -> str:
        """The nearest entry by edit distance (for decoders without CTC probabilities)."""
        options = self.shortlist(word)
        return options[0] if options else word


def _word_segments(alignment: Alignment, space: int, steps: int) -> list[tuple[int, int, int, int]]:
    """(first label, end label, first step, end step) of each space-separated word of an alignment.

    A word owns the steps between the spaces around it (its own steps and the blanks beside them),
    not the steps aligned to the spaces.
    """
    segments = []
    label_start, step_start = 0, 0
    for k, label in enumerate(alignment.labels):
        if label == space:
            s, e = alignment.spans[k]
            if k > label_start:
                segments.append((label_start, k, step_start, s))
            label_start, step_start = k + 1, e + 1
    if label_start < len(alignment.labels):
        segments.append((label_start, len(alignment.labels), step_start, steps))
    return segments


def lexicon_decode(probs: np.ndarray, tokenizer: CTCTokenizer, lexicon: Lexicon, beam_width: int = 0) -> Recognition:
    """Decode (greedy or beam), then snap each word to the lexicon entry the CTC output favours most."""
    blank = tokenizer.blank
    if beam_width > 0:
        labels = prefix_beam_search(probs, beam_width, blank)[0][0]
        alignment = forced_alignment(probs, labels, blank)
    else:
        alignment = greedy_alignment(probs, blank)
    space = tokenizer.index.get(" ", -1)
    words = []
    for first, end, s0, s1 in _word_segments(alignment, space, probs.shape[0]):
        word = tokenizer.decode(alignment.labels[first:end])
        words.append(lexicon.best_ctc(probs[s0 : max(s1, s0 + 1)], word, blank))
    labels = tokenizer.encode(" ".join(words))
    return describe(probs, forced_alignment(probs, labels, blank), tokenizer)


# ---------------------------------------------------------------------------------------------------------
# Attention / parallel tokens


def attention_decode(probs: np.ndarray, tokenizer: AttentionTokenizer) -> Recognition:
    """Decode an ``L×K`` matrix of attention-decoder token probabilities: argmax, stop at EOS."""
    best = probs.argmax(axis=1)
    chars: list[str] = []
    confs: list[float] = []
    end_conf = None
    for step, token in enumerate(best):
        token = int(token)
        if token == tokenizer.eos:
            end_conf = float(probs[step, token])
            break
        if tokenizer.is_char(token):
            chars.append(tokenizer.char(token))
            confs.append(float(probs[step, token]))
    if not chars:
        return Recognition("", end_conf if end_conf is not None else 0.0)
    n = len(chars)
    xs = tuple((i + 0.5) / n for i in range(n))
    return Recognition("".join(chars), float(np.mean(confs)), tuple(confs), xs)
