"""Recognition architectures: output shapes, learning on a tiny batch, weight round trips and decoding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from textlens.data.charset import (  # noqa: E402
    AttentionTokenizer,
    Charset,
    CTCTokenizer,
    DecoderKind,
    default_num_classes,
    tokenizer_for,
)
from textlens.errors import ConfigError  # noqa: E402
from textlens.models import create_model, list_models  # noqa: E402
from textlens.models.recognition.decoding import ctc_greedy_ids, decode_output  # noqa: E402
from textlens.models.serialization import save_weights  # noqa: E402
from textlens.runtime.crops import CropSpec, pad_batch, prepare_crop  # noqa: E402
from textlens.train.sources import render_text  # noqa: E402

RECOGNIZERS = list_models("recognition")
CHARSET = Charset("abcdefghijklmnopqrstuvwxyz")
# Smaller variants where the default is slow to train on one CPU thread; the architecture is the same.
FAST = {
    "vitstr_tiny": {"depth": 2},
    "crnn_base": {"hidden": 64},
    "crnn_vgg": {"hidden": 64},
    "attn_bahdanau": {"hidden": 96, "enc_hidden": 64},
    "attn_mha": {"dim": 128, "layers": 1},
}
WORDS = ["cat", "dog", "sun", "ox"]


def _classes(name: str) -> tuple[int, DecoderKind]:
    decoder = DecoderKind.parse(create_model(name, num_classes=10).decoder)
    return tokenizer_for(CHARSET, decoder).num_classes, decoder


def _batch(model: torch.nn.Module) -> tuple[torch.Tensor, list[int]]:
    spec = CropSpec(**model.input_config())
    arrays = [prepare_crop(render_text(w, 22), spec) for w in WORDS]
    return torch.from_numpy(pad_batch(arrays, spec)), [a.shape[2] for a in arrays]


def test_every_family_is_registered() -> None:
    assert {"crnn_small", "crnn_vgg", "crnn_base", "attn_bahdanau", "attn_mha", "vitstr_tiny"} <= set(RECOGNIZERS)


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_registered_defaults_have_the_latin_tokenizers_classes(name: str) -> None:
    model = create_model(name, **FAST.get(name, {}))
    assert isinstance(model.decoder, DecoderKind)
    expected = {DecoderKind.CTC: 108, DecoderKind.ATTENTION: 110, DecoderKind.PARALLEL: 110}[model.decoder]
    assert model.num_classes == default_num_classes(model.decoder) == expected
    assert model.classifier.out_features == expected


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_output_shapes_follow_the_input_width(name: str) -> None:
    model = create_model(name, **FAST.get(name, {})).eval()
    config = model.input_config()
    widths = [config["max_width"]] * 2 if "max_width" in config else [64, 100]
    for batch, width in zip((1, 3), widths, strict=True):
        with torch.no_grad():
            out = model(torch.randn(batch, 1, 32, width))
        logits = out["logits"]
        assert logits.shape[0] == batch and logits.shape[2] == model.num_classes
        if model.decoder is DecoderKind.CTC:
            assert logits.shape[1] == width // 4
        else:
            assert logits.shape[1] == model.max_len + 1
        if model.decoder is DecoderKind.ATTENTION:
            assert out["tokens"].shape == (batch, model.max_len + 1)


@pytest.mark.parametrize("name", [n for n in RECOGNIZERS if n.startswith("crnn")])
def test_crnn_takes_rgb_and_height_48(name: str) -> None:
    model = create_model(name, in_channels=3, height=48).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 48, 96))["logits"]
    assert logits.shape[:2] == (2, 24)


def test_a_height_the_backbone_cannot_collapse_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="multiple of 16"):
        create_model("crnn_small", height=40)


def _loss(model: torch.nn.Module, decoder: DecoderKind, images: torch.Tensor, widths: list[int]) -> torch.Tensor:
    if decoder is DecoderKind.CTC:
        tok = CTCTokenizer(CHARSET)
        log_probs = torch.log_softmax(model(images)["logits"], -1).transpose(0, 1)
        targets = torch.tensor([i for w in WORDS for i in tok.encode(w)])
        return torch.nn.functional.ctc_loss(
            log_probs,
            targets,
            torch.tensor([w // 4 for w in widths]),
            torch.tensor([len(w) for w in WORDS]),
            zero_infinity=True,
        )
    tok = AttentionTokenizer(CHARSET)
    length = model.max_len if decoder is DecoderKind.PARALLEL else max(map(len, WORDS))
    ids = torch.tensor([tok.encode(w, length) for w in WORDS])
    logits = model(images, ids[:, :-1])["logits"] if decoder is DecoderKind.ATTENTION else model(images)["logits"]
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), ignore_index=tok.pad
    )


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_loss_falls_when_overfitting_four_words(name: str) -> None:
    torch.manual_seed(0)
    classes, decoder = _classes(name)
    model = create_model(name, num_classes=classes, **FAST.get(name, {})).train()
    images, widths = _batch(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = _loss(model, decoder, images, widths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_saved_weights_load_into_a_new_model(name: str, tmp_path) -> None:
    torch.manual_seed(1)
    model = create_model(name, **FAST.get(name, {})).eval()
    path = tmp_path / "model.safetensors"
    save_weights(model, path)
    clone = create_model(name, checkpoint=path, **FAST.get(name, {})).eval()
    images = torch.randn(2, 1, 32, model.input_config().get("max_width", 64))
    with torch.no_grad():
        assert torch.allclose(model(images)["logits"], clone(images)["logits"], atol=1e-5)


def test_ctc_greedy_merges_repeats_and_drops_blanks() -> None:
    path = [0, 1, 1, 0, 1, 2, 2, 0, 0]  # blank a a blank a b b blank blank -> "a a b"
    logits = torch.nn.functional.one_hot(torch.tensor([path]), 4).float()
    assert ctc_greedy_ids(logits) == [[1, 1, 2]]
    assert ctc_greedy_ids(logits, lengths=[3]) == [[1]]
    # id 1 is the space, always first
    assert decode_output({"logits": logits}, CTCTokenizer(Charset("ab"))) == ["  a"]


def test_attention_decoding_stops_at_the_first_eos() -> None:
    charset = Charset("ab")
    tok = AttentionTokenizer(charset)
    ids = [*tok.encode("ab")[1:], tok.index["a"], tok.pad]
    out = {"logits": torch.nn.functional.one_hot(torch.tensor([ids]), tok.num_classes).float()}
    assert decode_output(out, tokenizer_for(charset, DecoderKind.PARALLEL)) == ["ab"]
    assert decode_output({"logits": out["logits"], "tokens": torch.tensor([ids])}, tok) == ["ab"]


@pytest.mark.parametrize("name", [n for n in RECOGNIZERS if n.startswith("attn")])
def test_beam_search_scores_are_the_sequence_log_probabilities(name: str) -> None:
    torch.manual_seed(2)
    model = create_model(name, max_len=6).eval()
    images = torch.randn(2, 1, 32, 48)
    results = model.beam_search(images, beam=3)
    assert len(results) == 2
    for n, (ids, score) in enumerate(results):
        assert all(i >= AttentionTokenizer.offset for i in ids) and len(ids) <= model.max_len + 1
        # A finished hypothesis scored its EOS; one cut at max_len + 1 steps never emitted it.
        targets = [*ids, AttentionTokenizer.eos] if len(ids) <= model.max_len else list(ids)
        inputs = torch.tensor([[AttentionTokenizer.sos, *targets[:-1]]])
        with torch.no_grad():
            log_probs = torch.log_softmax(model(images[n : n + 1], inputs)["logits"][0], -1)
        total = sum(float(log_probs[i, t]) for i, t in enumerate(targets))
        assert score == pytest.approx(total, abs=1e-3)
