"""The form extractor's grouping of words into entities: the boosted trees (numpy), the edge and segment
features, the row segments and their merging, and the cross-fitting that trains the later stages (all on data
built here)."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.document import Word
from textlens.errors import MissingWeights
from textlens.extract.form import (
    LABELS,
    PAIR_DIM,
    SEGMENT_DIM,
    neighbours_of,
    pair_features,
    row_segments,
    segment_pairs,
    union_groups,
)
from textlens.extract.form_train import _cross_fitted
from textlens.extract.lines import BoostedTrees, LineClassifier


def test_boosted_trees_learn_what_a_linear_model_cannot() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)  # exclusive or: no line separates it
    trees = BoostedTrees.fit(x[:2000], y[:2000], ("no", "yes"), trees=60, depth=3, rate=0.3)
    linear = LineClassifier.fit(x[:2000], y[:2000], ("no", "yes"), steps=200)
    tree_acc = (trees.probabilities(x[2000:]).argmax(axis=1) == y[2000:]).mean()
    linear_acc = (linear.probabilities(x[2000:]).argmax(axis=1) == y[2000:]).mean()
    assert tree_acc >= 0.95 > 0.7 >= linear_acc
    p = trees.probabilities(x[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(axis=1), 1.0)


def test_boosted_trees_softmax_and_round_trip_through_arrays() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3, size=(1500, 3)).astype(np.float32)
    y = np.floor(x[:, 2]).astype(np.int64)  # three bands of one feature
    model = BoostedTrees.fit(x, y, ("a", "b", "c"), trees=40, depth=2, rate=0.3)
    assert (model.probabilities(x).argmax(axis=1) == y).mean() >= 0.97
    again = BoostedTrees.from_arrays(model.arrays("m"), "m", ("a", "b", "c"))
    assert np.allclose(again.probabilities(x[:50]), model.probabilities(x[:50]))
    assert model.probabilities(np.zeros((0, 3), dtype=np.float32)).shape == (0, 3)
    broken = model.arrays("m")
    broken["m_tree_leaves"] = broken["m_tree_leaves"][:, :, :2]
    with pytest.raises(MissingWeights, match="inconsistent"):
        BoostedTrees.from_arrays(broken, "m", ("a", "b", "c"))
    with pytest.raises(MissingWeights, match="lack"):
        BoostedTrees.from_arrays({}, "m", ("a", "b", "c"))


def _two_line_page() -> list[Word]:
    """'Name:' and an answer of two lines on its right, and a lone word far below."""
    return [
        Word("Name:", (10, 10, 55, 24)),
        Word("John", (120, 10, 156, 24)),
        Word("Smith", (162, 10, 207, 24)),
        Word("Boston", (120, 28, 174, 42)),
        Word("Mass.", (180, 28, 220, 42)),
        Word("Page", (10, 200, 46, 214)),
    ]


def test_row_segments_then_segment_pairs_join_a_two_line_entity() -> None:
    words = _two_line_page()
    nb = neighbours_of(words)
    probs = np.full((len(words), len(LABELS)), 0.25, dtype=np.float32)
    pf = pair_features(words, nb, probs)
    assert pf.shape == (len(nb.edges), PAIR_DIM)
    # join the side-by-side pairs inside the answer, not 'Name:' → 'John'
    join = np.array([0.9 if kind == 0 and a != 0 else 0.1 for a, _, kind in nb.edges])
    segments = row_segments(words, nb.edges, join, 0.5)
    assert sorted(segments) == [(0,), (1, 2), (3, 4), (5,)]
    keys, features = segment_pairs(words, 300, 300, nb, segments, join, probs)
    assert features.shape == (len(keys), SEGMENT_DIM)
    index = {s: k for k, s in enumerate(segments)}
    assert (index[(1, 2)], index[(3, 4)]) in keys  # the answer's two lines are a candidate pair
    merged = union_groups(len(segments), [(index[(1, 2)], index[(3, 4)])])
    assert sorted(sorted(i for s in g for i in segments[s]) for g in merged) == [[0], [1, 2, 3, 4], [5]]


def test_cross_fitted_predictions_never_see_their_own_item() -> None:
    fitted_on: list[list[int]] = []

    def fit(idx: list[int]) -> set[int]:
        fitted_on.append(idx)
        return set(idx)

    out = _cross_fitted(10, 4, fit, lambda seen, i: i in seen)
    assert out == [False] * 10  # each item predicted by a model fitted without it
    assert len(fitted_on) == 4 and all(len(idx) >= 7 for idx in fitted_on)
