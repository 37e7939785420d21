"""CTC / attention decoding, OnnxRecognizer on an exported bundle, the torch-free import, ``recognize``."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from textlens.data.charset import AttentionTokenizer, CTCTokenizer
from textlens.errors import ModelError
from textlens.runtime import ctc
from textlens.runtime.base import Recognition, Recognizer
from textlens.runtime.crops import SECOND_LOOK_PAD, second_look_variants, turned_views
from textlens.runtime.ctc import Lexicon
from textlens.runtime.recognizer import OnnxRecognizer, chunk_crop
from textlens.runtime.session import clear_cache, get_session, resolve_threads

CHARSET = " abcdefghij"
TOK = CTCTokenizer(CHARSET)  # class 0 is the blank, ' ' is class 1, 'a' class 2, ...
K = TOK.num_classes


def one_hot_path(path: list[int], high: float = 0.9) -> np.ndarray:
    """A T×K probability matrix whose argmax follows ``path``; the rest of the mass is spread evenly."""
    probs = np.full((len(path), K), (1 - high) / (K - 1), dtype=np.float64)
    probs[np.arange(len(path)), path] = high
    return probs


def cls(ch: str) -> int:
    return TOK.index[ch]


# ---------------------------------------------------------------------------------------------------------
# Greedy CTC


def test_greedy_merges_repeats_and_keeps_repeats_split_by_a_blank() -> None:
    a, b = cls("a"), cls("b")
    result = ctc.greedy_decode(one_hot_path([0, a, a, 0, a, b, b, 0]), TOK)
    assert result.text == "aab"
    assert len(result.char_confidences) == 3
    assert result.char_confidences[0] == pytest.approx(0.9)


def test_greedy_confidence_is_mean_of_each_characters_peak_probability() -> None:
    a, b = cls("a"), cls("b")
    probs = one_hot_path([a, a, 0, b])
    probs[0, a], probs[1, a], probs[3, b] = 0.6, 0.8, 0.5
    result = ctc.greedy_decode(probs, TOK)
    assert result.char_confidences == pytest.approx((0.8, 0.5))
    assert result.confidence == pytest.approx(0.65)


def test_a_letter_whose_case_a_crop_cannot_show_is_as_confident_as_both_cases_together() -> None:
    tok = CTCTokenizer("xXaA")
    probs = np.full((2, tok.num_classes), 0.02)
    # "x" 0.5 / "X" 0.44: the letter is sure, its case is not
    probs[0, tok.index["x"]], probs[0, tok.index["X"]] = 0.5, 0.44
    # "a" 0.5 / "A" 0.44: the shapes differ, so this is real doubt
    probs[1, tok.index["a"]], probs[1, tok.index["A"]] = 0.5, 0.44
    result = ctc.greedy_decode(probs, tok)
    assert result.text == "xa"
    assert result.char_confidences == pytest.approx((0.94, 0.5))


def test_greedy_char_x_is_the_centre_of_each_characters_steps_as_a_width_fraction() -> None:
    a, b = cls("a"), cls("b")
    result = ctc.greedy_decode(one_hot_path([a, a, 0, 0, 0, 0, 0, b]), TOK)
    # 'a' spans steps 0-1 (centre 0.5 → (0.5 + 0.5) / 8), 'b' is step 7 → 7.5 / 8.
    assert result.char_x == pytest.approx((1 / 8, 7.5 / 8))


def test_greedy_all_blank_gives_empty_text_with_the_blank_certainty() -> None:
    result = ctc.greedy_decode(one_hot_path([0, 0, 0], high=0.7), TOK)
    assert result == Recognition("", pytest.approx(0.7))


def test_greedy_on_zero_steps_is_empty() -> None:
    assert ctc.greedy_decode(np.zeros((0, K)), TOK).text == ""


def test_softmax_rows_sum_to_one_and_ignore_a_log_softmax_shift() -> None:
    logits = np.random.default_rng(0).normal(size=(5, K))
    probs = ctc.softmax(logits)
    assert np.allclose(probs.sum(axis=1), 1)
    assert np.allclose(ctc.softmax(np.log(probs)), probs)


# ---------------------------------------------------------------------------------------------------------
# Beam search, forward algorithm, alignment


def test_beam_search_sums_paths_and_beats_greedy_on_a_crafted_example() -> None:
    # Each step: blank 0.6, 'a' 0.4. Greedy reads "" (path probability 0.36), but "a" has
    # 0.4·0.4 + 0.4·0.6 + 0.6·0.4 = 0.64 summed over its three paths.
    probs = np.zeros((2, K))
    probs[:, 0], probs[:, cls("a")] = 0.6, 0.4
    assert ctc.greedy_decode(probs, TOK).text == ""
    best = ctc.prefix_beam_search(probs, beam_width=4)
    assert best[0][0] == (cls("a"),)
    assert math.exp(best[0][1]) == pytest.approx(0.64)
    assert ctc.beam_decode(probs, TOK, beam_width=4).text == "a"


def _brute_force_likelihood(probs: np.ndarray, labels: tuple[int, ...]) -> float:
    total = 0.0
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        collapsed = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1]))
        if collapsed == labels:
            total += float(np.prod(probs[np.arange(len(path)), path]))
    return total


@pytest.mark.parametrize("labels", [(), (1,), (1, 2), (2, 2), (1, 2, 1)])
def test_forward_algorithm_matches_brute_force_sum_over_paths(labels: tuple[int, ...]) -> None:
    probs = ctc.softmax(np.random.default_rng(1).normal(size=(5, 3)))
    expected = _brute_force_likelihood(probs, labels)
    assert math.exp(ctc.ctc_log_likelihood(probs, labels)) == pytest.approx(expected, rel=1e-9)


def test_impossible_labelling_has_zero_likelihood() -> None:
    probs = ctc.softmax(np.zeros((2, 3)))
    # "aa" needs at least three steps (a, blank, a).
    assert ctc.ctc_log_likelihood(probs, (1, 1)) == -np.inf
    assert ctc.forced_alignment(probs, (1, 1)).labels == ()


def test_forced_alignment_places_each_label_on_its_peak_steps() -> None:
    a, b = cls("a"), cls("b")
    alignment = ctc.forced_alignment(one_hot_path([0, a, a, 0, 0, b, 0]), (a, b))
    assert alignment.spans == ((1, 2), (5, 5))


# ---------------------------------------------------------------------------------------------------------
# Lexicon


def _misread_hello() -> np.ndarray:
    """Greedy reads "hellj"; 'e' is a close second at the last character (CHARSET has no 'o')."""
    h, e, l_, j = cls("h"), cls("e"), cls("g"), cls("j")
    probs = one_hot_path([h, 0, e, 0, l_, 0, l_, 0, j, 0])
    probs[8, j], probs[8, e] = 0.5, 0.45
    return probs


def test_lexicon_snaps_a_misread_word_to_the_entry_the_ctc_output_favours() -> None:
    probs = _misread_hello()
    assert ctc.greedy_decode(probs, TOK).text == "heggj"
    lexicon = Lexicon(["hegge", "heggi", "abc", "heg"], TOK)
    result = ctc.lexicon_decode(probs, TOK, lexicon)
    # "hegge" and "heggi" are both one edit away; the CTC output gives 'e' far more mass than 'i'.
    assert result.text == "hegge"
    assert len(result.char_x) == 5


def test_lexicon_constrains_each_word_of_a_line_separately() -> None:
    space, a, b = cls(" "), cls("a"), cls("b")
    probs = np.concatenate([_misread_hello(), one_hot_path([space, 0, a, 0, b, 0])])
    lexicon = Lexicon(["hegge", "abc", "ab"], TOK)
    assert ctc.lexicon_decode(probs, TOK, lexicon).text == "hegge ab"
    assert ctc.lexicon_decode(probs, TOK, lexicon, beam_width=4).text == "hegge ab"


def test_lexicon_drops_entries_the_model_cannot_spell() -> None:
    lexicon = Lexicon(["abc", "xyz", "", "  "], TOK)
    assert lexicon.words == ["abc"]
    assert lexicon.closest("abd") == "abc"


# ---------------------------------------------------------------------------------------------------------
# Attention tokens


def test_attention_decoding_stops_at_eos_and_reports_token_probabilities() -> None:
    tok = AttentionTokenizer(CHARSET)
    tokens = [tok.index["c"], tok.index["a"], tok.eos, tok.index["b"]]
    probs = np.full((4, tok.num_classes), 0.01)
    probs[np.arange(4), tokens] = [0.9, 0.7, 0.8, 0.9]
    result = ctc.attention_decode(probs, tok)
    assert result.text == "ca"
    assert result.char_confidences == pytest.approx((0.9, 0.7))
    assert result.confidence == pytest.approx(0.8)
    assert result.char_x == pytest.approx((0.25, 0.75))


def test_attention_decoding_of_immediate_eos_is_empty() -> None:
    tok = AttentionTokenizer(CHARSET)
    probs = np.full((3, tok.num_classes), 0.01)
    probs[:, tok.eos] = 0.95
    assert ctc.attention_decode(probs, tok) == Recognition("", pytest.approx(0.95))


# ---------------------------------------------------------------------------------------------------------
# Sessions


def test_threads_come_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTLENS_THREADS", "3")
    assert resolve_threads(None) == 3
    assert resolve_threads(1) == 1
    monkeypatch.delenv("TEXTLENS_THREADS")
    assert resolve_threads(None) == 0


# ---------------------------------------------------------------------------------------------------------
# OnnxRecognizer on an exported bundle


def _conv_ctc_model() -> object:
    """A conv-only CTC model (T = W/4): outputs depend on nearby columns only, so chunks can be checked."""
    import torch
    from torch import nn

    class ConvCTC(nn.Module):
        decoder = "ctc"

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.classifier = nn.Linear(16, K)

        def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
            features = self.features(images).mean(dim=2).transpose(1, 2)
            return {"logits": 3 * self.classifier(features)}

    torch.manual_seed(0)
    return ConvCTC().eval()


def render_word(text: str, height: int = 40, scale: float = 1.0, width: int | None = None) -> np.ndarray:
    """A black-on-white RGB word image drawn with OpenCV's Hershey font (``width``: fixed canvas)."""
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    image = np.full((height, width or w + 12, 3), 255, np.uint8)
    cv2.putText(image, text, (6, (height + h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2)
    return image


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from textlens.export.bundle import bundle

    folder = tmp_path_factory.mktemp("bundles") / "conv_ctc"
    config = {
        "name": "conv_ctc",
        "arch": "conv_ctc",
        "decoder": "ctc",
        "charset": CHARSET,
        "input": {"height": 32, "channels": 1, "min_width": 16, "max_width": 256, "width_multiple": 4},
    }
    bundle(_conv_ctc_model(), config, folder)
    return folder


def words() -> list[np.ndarray]:
    return [render_word(w) for w in ("bad", "cafe", "hi", "a big jade", "face")]


def test_recognizer_implements_the_protocol_and_reads_its_name(bundle_dir: Path) -> None:
    recognizer = OnnxRecognizer(bundle_dir)
    assert isinstance(recognizer, Recognizer)
    assert recognizer.name == "conv_ctc"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"charset": CHARSET + "xyz"}, "outputs 12 classes, but a ctc model "),
        ({"decoder": "crf"}, "unknown decoder 'crf'"),
    ],
)
def test_a_config_that_does_not_fit_the_output_layer_is_refused(
    bundle_dir: Path, tmp_path: Path, change: dict[str, str], message: str
) -> None:
    import shutil

    folder = tmp_path / "other"
    shutil.copytree(bundle_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(ModelError, match=message):
        OnnxRecognizer(folder)


def test_batched_results_come_back_in_input_order_equal_to_single_calls(bundle_dir: Path) -> None:
    recognizer = OnnxRecognizer(bundle_dir, batch_size=2)
    # Same-size crops: no padding, so batching cannot change what the model sees.
    crops = [render_word(w, width=200) for w in ("bad", "cafe", "hi", "a big jade", "face")]
    batched = recognizer.recognize(crops)
    singles = [recognizer.recognize([crop])[0] for crop in crops]
    assert [r.text for r in batched] == [r.text for r in singles]
    assert all(r.text for r in batched)  # an untrained model still emits characters
    for result in batched:
        assert 0 < result.confidence <= 1
        assert len(result.char_x) == len(result.text) == len(result.char_confidences)
        assert list(result.char_x) == sorted(result.char_x)
        assert 0 < min(result.char_x) <= max(result.char_x) < 1


def test_empty_and_gray_crops_are_handled(bundle_dir: Path) -> None:
    recognizer = OnnxRecognizer(bundle_dir)
    gray = cv2.cvtColor(words()[0], cv2.COLOR_RGB2GRAY)
    results = recognizer.recognize([np.zeros((0, 10, 3), np.uint8), gray, np.zeros((20, 0, 3), np.uint8)])
    assert results[0] == Recognition("", 0.0) and results[2] == Recognition("", 0.0)
    assert results[1].text == recognizer.recognize([words()[0]])[0].text
    assert recognizer.recognize([]) == []


def test_wide_lines_are_chunked_and_joined_like_one_pass(bundle_dir: Path) -> None:
    line = render_word("a bad cafe faced a big jade hedge, a big bad face", height=32)
    config = json.loads((bundle_dir / "config.json").read_text())
    narrow = OnnxRecognizer(bundle_dir, batch_size=1)  # max_width 256: the line needs several chunks
    wide_config = {**config, "input": {**config["input"], "max_width": 4096}}
    whole = OnnxRecognizer(bundle_dir, config=wide_config, batch_size=1)
    assert line.shape[1] > 2 * 256
    joined, single = narrow.probabilities(line), whole.probabilities(line)
    assert joined.shape == single.shape
    np.testing.assert_allclose(joined, single, atol=1e-5)
    assert narrow.recognize([line])[0].text == whole.recognize([line])[0].text


def test_chunks_overlap_and_cover_the_crop() -> None:
    from textlens.runtime.crops import CropSpec

    spec = CropSpec(height=32, max_width=256)
    chunks = chunk_crop(np.zeros((1, 32, 1000), np.float32), spec)
    starts = [x0 for x0, _ in chunks]
    assert starts[0] == 0 and all(c.shape[2] <= 256 for _, c in chunks)
    assert all(b - a == 256 - 64 for a, b in itertools.pairwise(starts))
    assert starts[-1] + chunks[-1][1].shape[2] == 1000


def test_beam_and_lexicon_options_decode_through_the_recognizer(bundle_dir: Path, tmp_path: Path) -> None:
    crops = words()
    greedy = OnnxRecognizer(bundle_dir).recognize(crops)
    beam = OnnxRecognizer(bundle_dir, beam_width=5).recognize(crops)
    assert len(beam) == len(crops) and all(isinstance(r.text, str) for r in beam)
    lexicon_file = tmp_path / "words.txt"
    lexicon_file.write_text("bad\ncafe\nhi\n", encoding="utf-8")
    snapped = OnnxRecognizer(bundle_dir, lexicon=lexicon_file).recognize(crops)
    for result, plain in zip(snapped, greedy, strict=True):
        if plain.text.strip():
            assert set(result.text.split()) <= {"bad", "cafe", "hi"}


def test_sessions_are_cached_per_file_and_thread_count(bundle_dir: Path) -> None:
    clear_cache()
    first = get_session(bundle_dir / "model.onnx", threads=1)
    assert get_session(bundle_dir / "model.onnx", threads=1) is first
    assert get_session(bundle_dir / "model.onnx", threads=2) is not first


def test_runtime_reads_crops_without_torch(bundle_dir: Path) -> None:
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from textlens.runtime.loading import load_recognizer\n"
        f"r = load_recognizer({str(bundle_dir)!r}, threads=1)\n"
        "out = r.recognize([np.full((32, 80, 3), 255, np.uint8)])\n"
        "print(type(r).__name__, len(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OnnxRecognizer 1"


# ---------------------------------------------------------------------------------------------------------
# CLI


def _cli() -> typer.Typer:
    from textlens.cli.recognize import recognize

    app = typer.Typer()
    app.command("recognize")(recognize)
    app.command("noop")(lambda: None)  # with two commands typer keeps "recognize" as a subcommand
    return app


@pytest.fixture()
def crop_files(tmp_path: Path) -> list[Path]:
    paths = []
    for i, crop in enumerate(words()[:2]):
        path = tmp_path / f"w{i}.png"
        cv2.imwrite(str(path), crop)
        paths.append(path)
    return paths


def test_cli_prints_one_text_line_per_image(bundle_dir: Path, crop_files: list[Path]) -> None:
    result = CliRunner().invoke(_cli(), ["recognize", *map(str, crop_files), "--model", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    expected = [
        r.text for r in OnnxRecognizer(bundle_dir).recognize([cv2.imread(str(p))[:, :, ::-1] for p in crop_files])
    ]
    assert result.stdout.split("\n")[:-1] == expected


def test_cli_jsonl_reports_text_and_confidence(bundle_dir: Path, crop_files: list[Path]) -> None:
    result = CliRunner().invoke(
        _cli(),
        [
            "recognize",
            *map(str, crop_files),
            "-m",
            str(bundle_dir),
            "--format",
            "jsonl",
            "--beam",
            "3",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in crop_files]
    assert all(isinstance(r["text"], str) and 0 <= r["confidence"] <= 1 for r in records)


def test_cli_reports_a_bad_image_and_goes_on(bundle_dir: Path, crop_files: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = CliRunner().invoke(
        _cli(), ["recognize", str(bad), str(crop_files[0]), "-m", str(bundle_dir), "-f", "jsonl"]
    )
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2 and "broken.png" in records[0]["error"] and "error" not in records[1]
    assert "broken.png" in result.stderr


def test_cli_without_a_model_fails_clearly(tmp_path: Path, crop_files: list[Path]) -> None:
    result = CliRunner().invoke(_cli(), ["recognize", str(crop_files[0]), "-m", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no ONNX recognition model" in result.stderr


# ---------------------------------------------------------------------------------------------------------
# Width buckets


def test_width_buckets_cover_every_crop_once_and_limit_padding() -> None:
    from textlens.runtime.crops import width_buckets

    rng = np.random.default_rng(3)
    widths = [int(w) for w in rng.integers(16, 600, 200) // 4 * 4]
    batches = width_buckets(widths, max_batch=16, max_growth=1.15)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))
    for batch in batches:
        assert len(batch) <= 16
        narrow, wide = min(widths[i] for i in batch), max(widths[i] for i in batch)
        assert wide <= narrow * 1.15
    # Without the growth limit, the same crops pack into full batches of very different widths.
    loose = width_buckets(widths, max_batch=16, max_growth=float("inf"), max_pixels=10**12)
    assert len(loose) == math.ceil(len(widths) / 16) < len(batches)


# ---------------------------------------------------------------------------------------------------------
# Case prior

CASED = CTCTokenizer(" abcdeABCDE")


def cased_probs(letters: list[tuple[str, float, float]]) -> np.ndarray:
    """One step per letter: (decoded letter, its probability, probability of its other case); blanks between."""
    k = CASED.num_classes
    rows = []
    for ch, p_raw, p_other in letters:
        row = np.full(k, 1e-4)
        row[CASED.index[ch]] = p_raw
        if ch != " ":
            row[CASED.index[ch.swapcase()]] = p_other
        rows.append(row / row.sum())
        blank = np.full(k, 1e-4)
        blank[CASED.blank] = 1.0
        rows.append(blank / blank.sum())
    return np.array(rows)


def test_a_word_with_stray_case_takes_the_likeliest_usual_pattern() -> None:
    # "ABcDE": the 'c' is barely lower case, the rest clearly upper: UPPER is a hair less likely than the mix.
    probs = cased_probs([("A", 0.9, 0.05), ("B", 0.9, 0.05), ("c", 0.5, 0.45), ("D", 0.9, 0.05), ("E", 0.9, 0.05)])
    assert ctc.greedy_decode(probs, CASED).text == "ABcDE"
    assert ctc.greedy_decode(probs, CASED, case_tolerance=3.0).text == "ABCDE"
    # Title case wins for "AbcdE" with a doubtful final 'E'; each word of a line is settled on its own.
    line = [("A", 0.9, 0.05), ("b", 0.9, 0.05), ("c", 0.9, 0.05), ("d", 0.9, 0.05), ("E", 0.5, 0.45)]
    line += [(" ", 0.9, 0.0), ("a", 0.95, 0.01), ("B", 0.95, 0.01)]
    assert ctc.greedy_decode(cased_probs(line), CASED, case_tolerance=3.0).text == "Abcde aB"


def test_a_confident_unusual_case_pattern_is_kept() -> None:
    # "aBcde" read with confidence (like "iPhone"): switching would cost far more than the tolerance.
    probs = cased_probs([("a", 0.95, 0.01), ("B", 0.95, 0.01), ("c", 0.9, 0.05), ("d", 0.9, 0.05), ("e", 0.9, 0.05)])
    assert ctc.greedy_decode(probs, CASED, case_tolerance=3.0).text == "aBcde"


# ---------------------------------------------------------------------------------------------------------
# Crop polarity


def word_crop(light_text: bool, frame: bool = False) -> np.ndarray:
    """A 40×160 RGB word crop, dark on light or light on dark; ``frame`` adds a fax-like black border."""
    ground, ink = ((40, 60, 120), (245, 245, 235)) if light_text else ((250, 250, 245), (20, 20, 20))
    image = np.full((40, 160, 3), ground, dtype=np.uint8)
    cv2.putText(image, "Exit", (12, 30), cv2.FONT_HERSHEY_DUPLEX, 1.0, ink, 2)
    if frame:
        cv2.rectangle(image, (0, 0), (159, 39), (0, 0, 0), 2)
    return image


def test_dark_text_polarity_inverts_light_text_only() -> None:
    from textlens.runtime.crops import CropSpec, prepare_crop, text_is_light

    as_is, dark_text = CropSpec(), CropSpec(polarity="dark_text")
    light, dark, framed = word_crop(True), word_crop(False), word_crop(False, frame=True)
    assert text_is_light(light) and not text_is_light(dark) and not text_is_light(framed)
    # Inverted, the light crop reads like a dark one: its background (the border) is now the bright side.
    flipped = prepare_crop(light, dark_text)
    assert flipped[0, 0, 0] > 0.5 and flipped[0].mean() > 0.0
    assert np.allclose(prepare_crop(light, as_is), -flipped, atol=1e-5)  # mean = std = 0.5: 255 - x negates
    for crop in (dark, framed):
        assert np.array_equal(prepare_crop(crop, dark_text), prepare_crop(crop, as_is))


def test_polarity_travels_in_the_model_config_and_defaults_to_as_is() -> None:
    from textlens.runtime.crops import CropSpec

    assert CropSpec.from_config({"height": 32}).polarity == "as_is"  # configs written before the field
    assert CropSpec.from_config(CropSpec(polarity="dark_text").to_config()).polarity == "dark_text"
    from textlens.errors import ConfigError

    with pytest.raises(ConfigError, match="dark_text"):
        CropSpec(polarity="inverted")
    from textlens.models.bundle import list_bundles

    for bundled in list_bundles("recognition"):  # the bundled recognisers read with the rule (measured gains)
        assert bundled.config["input"]["polarity"] == "dark_text"


def test_second_look_views_are_the_inverted_crop_and_the_crop_framed_by_its_border() -> None:
    crop = render_word("cafe", height=40)
    inverted, padded = second_look_variants(crop)
    np.testing.assert_array_equal(inverted, 255 - crop)
    pad = round(40 * SECOND_LOOK_PAD)
    assert padded.shape == (40 + 2 * pad, crop.shape[1] + 2 * pad, 3)
    np.testing.assert_array_equal(padded[pad:-pad, pad:-pad], crop)
    np.testing.assert_array_equal(padded[0, pad:-pad], crop[0])  # the frame repeats the crop's edge pixels


def test_second_look_keeps_the_most_confident_reading_of_the_crop_and_its_views(bundle_dir: Path) -> None:
    once = OnnxRecognizer(bundle_dir, second_look_below=None)
    always = OnnxRecognizer(bundle_dir, second_look_below=1.01)  # every confidence is below it
    crops = words()
    for crop, result in zip(crops, always.recognize(crops), strict=True):
        readings = [once.recognize([view])[0] for view in (crop, *second_look_variants(crop))]
        best = max(readings, key=lambda r: r.confidence)  # the first (the crop itself) wins ties
        assert result == best
        assert result.confidence >= readings[0].confidence


def test_second_look_leaves_crops_above_the_threshold_alone(bundle_dir: Path) -> None:
    once = OnnxRecognizer(bundle_dir, second_look_below=None)
    never = OnnxRecognizer(bundle_dir, second_look_below=0.0)
    assert never.recognize(words()) == once.recognize(words())


def test_cli_second_look_option_turns_it_off_at_zero(bundle_dir: Path, crop_files: list[Path]) -> None:
    from textlens.cli.common import second_look_option

    assert second_look_option(None) == {} and second_look_option(0.0) == {"second_look_below": None}
    assert second_look_option(0.8) == {"second_look_below": 0.8}
    result = CliRunner().invoke(
        _cli(), ["recognize", str(crop_files[0]), "-m", str(bundle_dir), "--second-look-below", "0"]
    )
    assert result.exit_code == 0, result.output
    crop = cv2.imread(str(crop_files[0]))[:, :, ::-1]
    assert result.stdout.strip() == OnnxRecognizer(bundle_dir, second_look_below=None).recognize([crop])[0].text


@pytest.mark.parametrize(("quarter_turns_ccw", "turned_cw"), [(1, 90), (-1, 270)])
def test_vertical_text_is_read_turned_and_says_so(quarter_turns_ccw: int, turned_cw: int) -> None:
    from textlens.runtime.loading import load_recognizer

    word = render_word("92039708")
    vertical = np.ascontiguousarray(np.rot90(word, quarter_turns_ccw))  # runs up (1) or down (-1) the page
    result = load_recognizer(None, threads=1).recognize([vertical])[0]  # the bundled recogniser
    assert (result.text, result.turned_cw) == ("92039708", turned_cw)
    upright_only = load_recognizer(None, threads=1, turn_tall=None).recognize([vertical])[0]
    assert upright_only.turned_cw == 0 and upright_only.text != "92039708"
    assert load_recognizer(None, threads=1).recognize([word])[0].turned_cw == 0  # wide crops are not turned


def test_cli_jsonl_says_when_a_crop_was_read_turned(tmp_path: Path) -> None:
    word = render_word("92039708")
    paths = [tmp_path / "upright.png", tmp_path / "vertical.png"]
    cv2.imwrite(str(paths[0]), word)
    cv2.imwrite(str(paths[1]), np.ascontiguousarray(np.rot90(word, 1)))
    result = CliRunner().invoke(_cli(), ["recognize", *map(str, paths), "-f", "jsonl", "--threads", "1"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["text"], r["turned_cw"]) for r in records] == [("92039708", 0), ("92039708", 90)]


def test_turned_views_turn_clockwise_by_their_angle() -> None:
    crop = np.arange(6, dtype=np.uint8).reshape(2, 3)
    (cw, by_90), (ccw, by_270) = turned_views(crop)
    assert (cw, ccw) == (90, 270)
    assert by_90[0, 0] == crop[-1, 0] and by_270[0, 0] == crop[0, -1]  # whose corner becomes the top-left
    assert by_90.shape == by_270.shape == (3, 2)
