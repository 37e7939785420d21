"""Resumable training streams: endless batches made in blocks, each block a pure function of its index.

``--resume`` must continue the data where the checkpoint left it, but a stream whose position lives in
generators and random-number states cannot be saved. So a training stream is cut into blocks of
``batches_per_block`` batches, and block ``b`` is drawn only from generators seeded with ``(seed, b)`` and
from its own slice of each indexed source's pass order. The batches from batch ``n`` on are then: block
``n // batches_per_block`` less its first ``n % batches_per_block`` batches, followed by the blocks after it;
a resumed run rebuilds one block at most and skips into it, whatever step it stops at.

DataLoader workers take whole blocks in turn (worker ``w`` of ``W`` makes blocks ``first + w``,
``first + w + W``, ...) and the loader hands them out in that round-robin order, so the sequence of batches
is the same with any number of workers, including none. Distributed ranks interleave the same way: block
``b`` of rank ``r`` of ``R`` is global block ``b·R + r``. Only the seed, the batch size, the sources and the
number of ranks decide the stream.

Indexed sources keep their passes (every item once per pass, in a new order each pass): pass ``p`` of
source ``k`` is an order drawn from ``(seed, k, p)``, and block ``g`` reads the positions
``floor(g·S·w_k)`` to ``floor((g+1)·S·w_k)`` of it, ``S`` being the block's draws and ``w_k`` the source's
share, so consecutive blocks read consecutive, disjoint slices. Unusable items are replaced by random ones
of the same source.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from textlens.errors import ConfigError

T = TypeVar("T")

# Tags that keep the seed sequences of the stream's generators apart.
_BLOCK, _READER, _PASS = 0, 1, 2


def seeded(*parts: int) -> np.random.Generator:
    """A generator seeded with the integers ``parts`` (negative ones wrapped, as SeedSequence wants)."""
    return np.random.default_rng([int(p) % 2**64 for p in parts])


class BlockStream(IterableDataset):
    """Endless batches in blocks (see the module docstring); subclasses say how a block is made."""

    def __init__(self, seed: int, batches_per_block: int) -> None:
        if batches_per_block < 1:
            raise ConfigError(f"a stream block holds at least one batch, got {batches_per_block}")
        self.seed, self.batches_per_block = seed, batches_per_block
        self.start_batch, self.rank, self.world = 0, 0, 1

    def place(self, start_batch: int = 0, rank: int = 0, world: int = 1) -> BlockStream:
        """Start at batch ``start_batch`` of this rank's stream (the global step a run resumes at)."""
        self.start_batch, self.rank, self.world = start_batch, rank, world
        return self

    def make_block(self, block: int) -> list[Any]:
        """The ``batches_per_block`` batches of global block ``block``; drawn from ``self.rng(block)``."""
        raise NotImplementedError

    def rng(self, block: int) -> np.random.Generator:
        return seeded(self.seed, _BLOCK, block)

    def reader_rng(self, block: int, source: int) -> np.random.Generator:
        return seeded(self.seed, _READER, block, source)

    def pass_seed(self, source: int) -> tuple[int, ...]:
        return (self.seed, _PASS, source)

    def blocks(self) -> Iterator[list[Any]]:
        """This worker's share of the blocks from the start batch on, the first one cut to start there."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        first, skip = divmod(self.start_batch, self.batches_per_block)
        for local in itertools.count(first + worker, workers):
            batches = self.make_block(local * self.world + self.rank)
            yield batches[skip:] if local == first else batches

    def __iter__(self) -> Iterator[Any]:
        for block in self.blocks():
            yield from block

    def loader(self, **options: Any) -> DataLoader:
        """A DataLoader over the blocks that yields their batches one by one, in stream order."""
        return BlockLoader(_Blocks(self), batch_size=None, **options)


class _Blocks(IterableDataset):
    """What the loader's workers iterate: the stream's blocks, whole (a list of batches per item)."""

    def __init__(self, stream: BlockStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[list[Any]]:
        return self.stream.blocks()


class BlockLoader(DataLoader):
    """Flattens the blocks its workers make. Workers hand out whole blocks in round-robin order, which keeps
    the stream's order independent of their number (a batch-wise round robin would not)."""

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        for block in super().__iter__():
            yield from block


class StepAwareLoader(DataLoader):
    """A loader whose dataset already starts where the checkpoint's step left it. It has no state to save;
    the empty state only tells Lightning that resuming it mid-epoch is safe (else it warns that it is not)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        del state_dict  # nothing to restore: the start was set when the loader was built


def stream_place(trainer: Any) -> tuple[int, int, int]:
    """(start batch, rank, ranks) of a Lightning trainer: its global step is the batches each rank has drawn
    (one optimiser step per batch), already restored from the checkpoint when the train loader is built."""
    if trainer is None:
        return 0, 0, 1
    return int(trainer.global_step), int(trainer.global_rank), int(trainer.world_size)


def block_slots(
    weights: np.ndarray, slots: int, block: int, rng: np.random.Generator
) -> tuple[list[int], list[int], list[int]]:
    """The sources of the ``slots`` draws of block ``block`` (in a random order), and where each source's
    slice of its pass order starts and how long it is.

    Source ``k`` owns the positions ``floor(block·slots·w_k)`` up to ``floor((block+1)·slots·w_k)``; the
    rounding leaves the total a draw or two off ``slots``, so missing draws go to sources picked by weight
    and surplus ones are cut (their pass positions are skipped this pass).
    """
    starts = [math.floor(block * slots * float(w)) for w in weights]
    counts = [math.floor((block + 1) * slots * float(w)) - start for w, start in zip(weights, starts, strict=True)]
    order = [k for k, count in enumerate(counts) for _ in range(count)]
    missing = slots - len(order)
    if missing > 0:
        order += [int(k) for k in rng.choice(len(weights), size=missing, p=weights)]
    return [order[int(i)] for i in rng.permutation(len(order))][:slots], starts, counts


class PassOrder:
    """Position ``n`` of an endless run of passes over ``length`` items, each pass in its own order."""

    def __init__(self, length: int, order: Callable[[np.random.Generator], np.ndarray], seed: Sequence[int]) -> None:
        self.length, self.order, self.seed = length, order, tuple(seed)
        self._pass: tuple[int, np.ndarray] | None = None

    def __getitem__(self, position: int) -> int:
        number, offset = divmod(position, self.length)
        if self._pass is None or self._pass[0] != number:
            self._pass = (number, self.order(seeded(*self.seed, number)))
        return int(self._pass[1][offset])


def pass_order(
    owner: Any, length: int, order: Callable[[np.random.Generator], np.ndarray], seed: Sequence[int]
) -> PassOrder:
    """``owner``'s PassOrder for ``seed``, kept on it: a pass's order is drawn once per process, not per block."""
    orders: dict[tuple[int, ...], PassOrder] = owner.__dict__.setdefault("_pass_orders", {})
    key = tuple(seed)
    if key not in orders:
        orders[key] = PassOrder(length, order, key)
    return orders[key]


def indexed_reader(
    owner: Any,
    length: int,
    item: Callable[[int, np.random.Generator], T],
    start: int,
    count: int,
    rng: np.random.Generator,
    seed: Sequence[int],
    order: Callable[[np.random.Generator], np.ndarray] | None = None,
    what: str = "items",
) -> Iterator[T]:
    """A block's reader of an indexed source: the ``count`` items of its pass order from ``start``, then random
    items (replacing unusable ones), endlessly. ``order`` draws one pass's order (default: a permutation)."""
    if length == 0:
        raise ConfigError(f"data source {owner} holds no {what}")
    passes = pass_order(owner, length, order or (lambda g: g.permutation(length)), seed)
    for position in range(start, start + count):
        yield item(passes[position], rng)
    while True:
        yield item(int(rng.integers(length)), rng)


def stream_fingerprint(
    seed: int, batch_size: int, sources: Sequence[Any], weights: Sequence[float], ranks: int
) -> dict[str, Any]:
    """What decides a stream (plain values, for checkpoints): the same fingerprint, the same batches."""
    return {
        "seed": int(seed),
        "batch_size": int(batch_size),
        "sources": [str(s) for s in sources],
        "weights": [float(w) for w in weights],
        "ranks": int(ranks),
    }
