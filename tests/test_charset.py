"""Charsets and tokenizers shared by every recogniser."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from textlens.data.charset import (
    LATIN,
    LATIN_EXT,
    NAMED_CHARSETS,
    AttentionTokenizer,
    Charset,
    CTCTokenizer,
    DecoderKind,
    default_num_classes,
    normalize_label,
    tokenizer_for,
)
from textlens.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
# The class counts every charset and decoder kind had when the offsets were spelled out by hand (characters +
# space + 1 blank for CTC, + PAD/SOS/EOS for attention and parallel); bundled output layers depend on them.
CLASSES = {
    "latin": {"ctc": 108, "attention": 110, "parallel": 110},
    "latin_ext": {"ctc": 331, "attention": 333, "parallel": 333},
    "ascii": {"ctc": 96, "attention": 98, "parallel": 98},
    "digits": {"ctc": 12, "attention": 14, "parallel": 14},
    "devanagari": {"ctc": 140, "attention": 142, "parallel": 142},
    "deva": {"ctc": 202, "attention": 204, "parallel": 204},
    "hangul": {"ctc": 2462, "attention": 2464, "parallel": 2464},
}


def test_latin_charset_has_the_94_printable_ascii_characters_space_and_symbols() -> None:
    charset = Charset.from_spec("latin")
    assert charset.chars[0] == " "
    assert all(chr(c) in charset for c in range(33, 127))
    assert "€" in charset and "£" in charset and "°" in charset
    assert len(charset) == 1 + len(LATIN)


def test_ctc_encode_decode_and_collapse() -> None:
    tok = CTCTokenizer(Charset("abc"))
    ids = tok.encode("cab a")
    assert tok.decode(ids) == "cab a"
    a, b = tok.index["a"], tok.index["b"]
    assert tok.decode(tok.collapse([a, a, 0, a, b, b, 0, 0])) == "aab"
    with pytest.raises(ConfigError, match="outside the charset"):
        tok.encode("abz")


def test_attention_tokens_pad_and_stop_at_eos() -> None:
    tok = AttentionTokenizer(Charset("xy"))
    ids = tok.encode("xy", max_len=4)
    assert ids[0] == tok.sos and ids[3] == tok.eos and ids[-1] == tok.pad and len(ids) == 6
    assert tok.decode(ids[1:]) == "xy"


def test_filter_drops_characters_outside_the_charset_after_nfc() -> None:
    charset = Charset.from_spec("ascii")
    assert charset.filter("Cafe\u0301 ok") == "Caf ok"


# ---------------------------------------------------------------------------------------------------------
# The extended Latin charset

SAMPLES = {
    "fr": "« Où êtes-vous ? » — Ça coûte 12,50 €, dit Noël à l’hôtel ; œuvre, cœur, Æsop…",
    "de": "„Größere Übungen“ kosten 1.234,56 € – Straße, Äpfel, Öl, süß.",
    "pl": "Zażółć gęślą jaźń: Łódź, Świętokrzyskie, Żółw, Źdźbło, Ćma, Ńa.",
    "cs": "Příliš žluťoučký kůň úpěl ďábelské ódy; Řeka, Ůd, Ťava, Ňadra, Ěbe.",
    "tr": "İstanbul’da ılık şeker, ağaç, Çalışkan Öğrenci, Ğ, Ş, ü, ı, İ.",
    "hu": "Árvíztűrő tükörfúrógép: ŐRÜLT ŰRHAJÓS, őz, ű, Ó, Ú, É.",
    "ro": "Șoseaua Științei, țară, Țuică, mâine, înțelegere, Ăsta, Î, ş ţ Ş Ţ.",
    "symbols": "№ 5 § 3 ¶ 2 © ® ™ ° ± × ÷ µ ½ ¼ ¾ ² ³ ‰ † ‡ • … ′ ″ ¿ ¡ £ ¥ ¢",
}


def test_latin_ext_characters_are_nfc_unique_and_latin_first() -> None:
    assert all(unicodedata.normalize("NFC", ch) == ch for ch in LATIN_EXT)
    assert len(set(LATIN_EXT)) == len(LATIN_EXT) and " " not in LATIN_EXT
    assert LATIN_EXT.startswith(LATIN) and NAMED_CHARSETS["latin_ext"] == LATIN_EXT
    for ch in "–—‘’“”„«»•…‰†‡′″€£¥¢§¶©®™°±×÷µ½¼¾²³№ȘșȚțŞşŢţ":
        assert ch in LATIN_EXT, ch
    assert all(chr(c) in LATIN_EXT for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7))
    assert not set("ĲĳĿŀŉſ\ufb01\u00a0\u00ad") & set(LATIN_EXT)  # compatibility forms, no-break space, soft hyphen


@pytest.mark.parametrize("kind", list(DecoderKind))
def test_latin_classes_keep_their_ids_in_latin_ext(kind: DecoderKind) -> None:
    old = tokenizer_for(Charset.from_spec("latin"), kind)
    new = tokenizer_for(Charset.from_spec("latin_ext"), kind)
    assert new.num_classes > old.num_classes
    rows = new.class_rows()
    assert all(rows[name] == row for name, row in old.class_rows().items())


@pytest.mark.parametrize("lang", sorted(SAMPLES))
@pytest.mark.parametrize("kind", [DecoderKind.CTC, DecoderKind.ATTENTION])
def test_latin_languages_encode_without_loss(lang: str, kind: DecoderKind) -> None:
    text = normalize_label(SAMPLES[lang])
    charset = Charset.from_spec("latin_ext")
    assert charset.filter(text) == text
    tokenizer = tokenizer_for(charset, kind)
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_labels_are_nfc_with_ligatures_spelt_out_and_case_kept() -> None:
    assert normalize_label("\ufb01ne \ufb02ow \ufb00 \ufb03 \ufb04 \ufb05 \ufb06") == "fine flow ff ffi ffl st st"
    assert normalize_label("Cafe\u0301 S\u0326") == "Café Ș"  # combining marks composed (NFC)
    assert normalize_label("½ ² µ № Ǆ") == "½ ² µ № Ǆ"  # other compatibility characters stay as they are
    assert Charset.from_spec("latin_ext").filter("\ufb01n de \ufb02eur") == "fin de fleur"


# ---------------------------------------------------------------------------------------------------------
# Tokenizers own the class layout


@pytest.mark.parametrize("name", sorted(NAMED_CHARSETS))
@pytest.mark.parametrize("kind", list(DecoderKind))
def test_num_classes_of_every_charset_and_decoder_kind(name: str, kind: DecoderKind) -> None:
    tokenizer = tokenizer_for(Charset.from_spec(name), kind)
    assert tokenizer.num_classes == CLASSES[name][kind.value] == default_num_classes(kind, name)
    # Special ids first, then every character in the charset's order, no gaps.
    rows = sorted(tokenizer.class_rows().values())
    assert rows == list(range(tokenizer.num_classes))
    assert [tokenizer.char(i) for i in range(len(tokenizer.specials), tokenizer.num_classes)] == list(tokenizer.chars)


@pytest.mark.parametrize("name", sorted(NAMED_CHARSETS))
@pytest.mark.parametrize("kind", list(DecoderKind))
def test_encode_decode_round_trip(name: str, kind: DecoderKind) -> None:
    tokenizer = tokenizer_for(Charset.from_spec(name), kind)
    text = tokenizer.chars[::-1] + " " + tokenizer.chars[1:4]
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    with pytest.raises(ConfigError, match="outside the charset"):
        tokenizer.encode("\u3042")


def test_special_ids_are_the_ones_the_bundled_models_were_trained_with() -> None:
    ctc = tokenizer_for("ab", "ctc")
    assert isinstance(ctc, CTCTokenizer) and ctc.blank == 0 and ctc.specials == {"<blank>": 0}
    assert ctc.index == {" ": 1, "a": 2, "b": 3} and ctc.num_classes == 4
    for kind in (DecoderKind.ATTENTION, DecoderKind.PARALLEL):
        att = tokenizer_for("ab", kind)
        assert isinstance(att, AttentionTokenizer) and (att.pad, att.sos, att.eos) == (0, 1, 2)
        assert att.index == {" ": 3, "a": 4, "b": 5} and att.num_classes == 6
        assert att.encode("ba", max_len=4) == [1, 5, 4, 2, 0, 0]
        assert att.decode([1, 5, 4, 2, 4]) == "ba"  # SOS skipped, stops at EOS


def test_decoder_kinds_are_the_config_strings() -> None:
    assert DecoderKind.CTC == "ctc" and DecoderKind("attention") is DecoderKind.ATTENTION
    assert str(DecoderKind.PARALLEL) == "parallel" and json.dumps({"decoder": DecoderKind.CTC}) == '{"decoder": "ctc"}'
    assert DecoderKind.from_config({}) is DecoderKind.CTC  # configs written before the field existed
    assert DecoderKind.from_config({"decoder": "parallel"}) is DecoderKind.PARALLEL
    with pytest.raises(ConfigError, match=r"unknown decoder 'crf'.*ctc, attention, parallel"):
        DecoderKind.parse("crf")


def test_ctc_collapse_needs_no_charset() -> None:
    assert CTCTokenizer.collapse([0, 3, 3, 0, 3, 5, 0]) == [3, 3, 5]
    assert CTCTokenizer("ab").decode([0, 2, 9, 3]) == "ab"  # blanks and ids beyond the layout are skipped


def _recognition_bundles() -> list[Path]:
    weights = REPO / "textlens" / "models" / "weights"
    found = []
    for config in sorted(weights.glob("*/config.json")):
        if json.loads(config.read_text(encoding="utf-8")).get("family") == "recognition":
            found.append(config.parent)
    return found


@pytest.mark.parametrize("folder", _recognition_bundles(), ids=lambda folder: folder.name)
def test_every_bundled_recogniser_has_its_tokenizers_output_size(folder: Path) -> None:
    onnx = pytest.importorskip("onnx")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tokenizer = tokenizer_for(config["charset"], DecoderKind.from_config(config))
    assert config["model"]["num_classes"] == tokenizer.num_classes
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    assert graph.output[0].type.tensor_type.shape.dim[-1].dim_value == tokenizer.num_classes


def test_crnn_fast_output_size_is_the_latin_ctc_tokenizers() -> None:
    config = json.loads((REPO / "textlens/models/weights/crnn_fast/config.json").read_text(encoding="utf-8"))
    assert config["charset"] == Charset.from_spec("latin").chars and config["decoder"] == DecoderKind.CTC
    assert config["model"]["num_classes"] == 108 == CTCTokenizer(Charset.from_spec("latin")).num_classes


# The line boxes of examples/sample.png, and what crnn_fast read in them (greedy decoding, case prior and second
# look at their defaults) when the class layout was still spelled out in the decoders.
SAMPLE_LINES = [
    ((59, 47, 348, 95), "Invoice 2041", 0.9994),
    ((59, 140, 336, 166), "Date: 14 March 2026", 0.9534),
    ((57, 181, 378, 208), "Customer: Ada Lovelace", 0.979),
    ((61, 246, 276, 272), "2 x Notebook A5", 0.9988),
    ((325, 247, 385, 272), "7.90", 0.9997),
    ((62, 286, 279, 317), "1 x Fountain pen", 0.9975),
    ((311, 288, 387, 313), "24.50", 0.9999),
    ((59, 326, 333, 357), "TOTAL DUE: EUR 40.30", 0.999),
    ((58, 388, 396, 428), "Thank you for your order!", 0.997),
]


def test_the_runtime_reads_the_sample_as_it_did_before_the_tokenizers_owned_the_layout() -> None:
    from PIL import Image

    from textlens.models.bundle import bundle_dir
    from textlens.runtime.recognizer import OnnxRecognizer

    image = np.asarray(Image.open(REPO / "examples" / "sample.png").convert("RGB"))
    recognizer = OnnxRecognizer(bundle_dir("crnn_fast"), threads=1)
    assert isinstance(recognizer.tokenizer, CTCTokenizer) and recognizer.tokenizer.num_classes == 108
    results = recognizer.recognize([image[y0:y1, x0:x1] for (x0, y0, x1, y1), _, _ in SAMPLE_LINES])
    assert [r.text for r in results] == [text for _, text, _ in SAMPLE_LINES]
    assert [r.confidence for r in results] == pytest.approx([conf for _, _, conf in SAMPLE_LINES], abs=2e-3)
