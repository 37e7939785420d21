"""Devanagari and Hangul: charsets, text composition, held-out fonts and the --lang table."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from textlens.data.charset import (
    DEVANAGARI_CONSONANTS,
    DEVANAGARI_DIGITS,
    DEVANAGARI_LINES,
    DEVANAGARI_MATRAS,
    DEVANAGARI_SCRIPT,
    DEVANAGARI_VOWELS,
    HANGUL_KS_X_1001,
    HANGUL_LINES,
    LATIN,
    PRINTABLE_ASCII,
    Charset,
    tokenizer_for,
)
from textlens.data.synth.fonts import FontInfo
from textlens.data.synth.scripts import (
    HELDOUT_FAMILIES,
    SCRIPTS,
    ScriptSampler,
    ScriptText,
    cluster_edit_rate,
    grapheme_clusters,
    group_digits,
    needs_shaping,
    script_fonts,
    script_for_langs,
)
from textlens.errors import ConfigError, MissingWeights
from textlens.languages import (
    LANGUAGES,
    SCRIPT_LANGUAGES,
    SCRIPT_PACKS,
    get_language,
    latin_letters,
    parse_lang,
    require_script_pack,
)


# --- charsets ---------------------------------------------------------------------------------------------------
def test_devanagari_charset_holds_what_it_claims() -> None:
    assert len(DEVANAGARI_CONSONANTS) == 37 and DEVANAGARI_CONSONANTS[0] == "क" and DEVANAGARI_CONSONANTS[-1] == "ह"
    assert {"क", "ष", "त", "र", "ज", "ञ", "ळ"} <= set(DEVANAGARI_CONSONANTS)
    assert {"अ", "आ", "इ", "ई", "उ", "ऊ", "ऋ", "ए", "ऐ", "ओ", "औ", "ॲ"} <= set(DEVANAGARI_VOWELS)
    assert {"ा", "ि", "ी", "ु", "ू", "ृ", "े", "ै", "ो", "ौ", "ॅ", "ॉ"} <= set(DEVANAGARI_MATRAS)
    assert {"्", "़", "ं", "ँ", "ः", "।", "॥"} <= set(DEVANAGARI_SCRIPT)
    assert DEVANAGARI_DIGITS == "०१२३४५६७८९"
    assert all(unicodedata.name(c).startswith("DEVANAGARI") for c in DEVANAGARI_SCRIPT)
    assert len(set(DEVANAGARI_SCRIPT)) == len(DEVANAGARI_SCRIPT) == 93
    assert len(set(DEVANAGARI_LINES)) == len(DEVANAGARI_LINES) == len(DEVANAGARI_SCRIPT) + len(LATIN) + 1


def test_devanagari_charset_is_nfc_closed() -> None:
    """Every character survives NFC, and NFC of real words never leaves the charset (the nukta letters
    U+0958-095F decompose, so they are not classes)."""
    assert all(unicodedata.normalize("NFC", c) == c for c in DEVANAGARI_LINES)
    assert not set(DEVANAGARI_SCRIPT) & {chr(c) for c in range(0x0958, 0x0960)}
    for word in ("क़िला", "ज़रूर", "फ़ोन", "ड़", "ऩ"):
        assert set(unicodedata.normalize("NFC", word)) <= set(DEVANAGARI_SCRIPT), word


def test_ks_x_1001_syllables_round_trip_through_euc_kr() -> None:
    assert len(HANGUL_KS_X_1001) == len(set(HANGUL_KS_X_1001)) == 2350
    assert HANGUL_KS_X_1001[:3] == "가각간" and HANGUL_KS_X_1001[-1] == "힝"
    assert all(0xAC00 <= ord(c) <= 0xD7A3 for c in HANGUL_KS_X_1001)
    for syllable in HANGUL_KS_X_1001:
        encoded = syllable.encode("euc_kr")
        assert len(encoded) == 2 and encoded.decode("euc_kr") == syllable
    # exactly these of Unicode's 11,172 syllables have a two-byte code; the codec spells the others (똠) as an
    # eight-byte jamo sequence (KS X 1001 annex 3)
    two_byte = {chr(c) for c in range(0xAC00, 0xD7A4) if len(chr(c).encode("euc_kr")) == 2}
    assert two_byte == set(HANGUL_KS_X_1001)
    assert len("똠".encode("euc_kr")) == 8
    assert all(unicodedata.normalize("NFC", c) == c for c in HANGUL_LINES)


def test_hangul_charset_and_tokenizer_sizes() -> None:
    assert set(PRINTABLE_ASCII) <= set(HANGUL_LINES) and "₩" in HANGUL_LINES
    assert len(set(HANGUL_LINES)) == len(HANGUL_LINES)
    charset = Charset.from_spec("hangul")
    assert len(charset) == len(HANGUL_LINES) + 1  # the space, first
    assert tokenizer_for(charset, "ctc").num_classes == len(HANGUL_LINES) + 2  # + blank
    assert tokenizer_for(Charset.from_spec("deva"), "ctc").num_classes == len(DEVANAGARI_LINES) + 2


# --- text -------------------------------------------------------------------------------------------------------
HINDI_WORDS = ("किताब", "क्षत्रिय", "पत्र", "विद्यालय", "हिंदी", "सरकार", "राष्ट्र", "मंत्री") * 200
KOREAN_WORDS = ("한국어", "정부", "학교", "사람", "문서", "도서관", "경제", "서울") * 200


def test_phrases_mix_words_with_numbers_dates_and_latin_at_their_rates() -> None:
    text = ScriptText(["hi"], words={"hi": HINDI_WORDS})
    rng = np.random.default_rng(0)
    tokens = [t for _ in range(400) for t in text.tokens(rng, 6, "hi")]
    words = sum(t.rstrip(",").strip("“”‘’") in HINDI_WORDS for t in tokens)
    latin = sum(t.isascii() and t.replace("-", "").isalpha() for t in tokens)
    with_digits = sum(any(c.isdigit() for c in t) for t in tokens)
    native = sum(any(c in DEVANAGARI_DIGITS for c in t) for t in tokens)
    assert 0.75 < words / len(tokens) < 0.9  # 86 % words by the rates, less quoted ones
    assert 0.02 < latin / len(tokens) < 0.07
    assert 0.09 < with_digits / len(tokens) < 0.2
    assert 0.15 < native / with_digits < 0.5  # Hindi print: mostly ASCII digits
    sentence = text.sentence(np.random.default_rng(3), "hi")
    assert sentence and not sentence.startswith(" ")


def test_korean_phrases_use_korean_dates_and_won() -> None:
    text = ScriptText(["ko"], words={"ko": KOREAN_WORDS})
    rng = np.random.default_rng(1)
    dates = [text.date(rng, "ko") for _ in range(200)]
    assert any("년" in d for d in dates) and all(not set(d) & set(DEVANAGARI_DIGITS) for d in dates)
    amounts = [text.amount(rng, "ko") for _ in range(200)]
    assert any("원" in a for a in amounts) and any(a.startswith("₩") for a in amounts)


def test_indian_digit_grouping() -> None:
    assert group_digits(1234567, indian=True) == "12,34,567"
    assert group_digits(1234567, indian=False) == "1,234,567"
    assert group_digits(999, indian=True) == "999"


def test_sampler_keeps_clusters_whole_when_filtering_and_cutting() -> None:
    mixture = {"sentence": 0.6, "chars": 0.2, "word": 0.2}
    sampler = ScriptSampler(["hi"], mixture=mixture, max_chars=12, words={"hi": HINDI_WORDS})
    rng = np.random.default_rng(2)
    no_ksha = frozenset(DEVANAGARI_LINES) - {"ष"}
    for _ in range(300):
        text = sampler.sample(rng)
        assert text and set(text) <= set(DEVANAGARI_LINES) | {" "}
        assert len(text) <= sampler.max_chars
        for word in text.split():  # no word starts with a matra, virama or nukta
            assert not unicodedata.category(word[0]).startswith("M"), text
            assert not word.endswith("्"), text
        filtered = sampler.sample(rng, no_ksha)
        assert "ष" not in filtered and "क्" + "ष" not in filtered


def test_script_of_languages() -> None:
    assert script_for_langs(["hi", "mr", "ne"]).name == "deva"  # type: ignore[union-attr]
    assert script_for_langs(["ko"]).name == "hangul"  # type: ignore[union-attr]
    assert script_for_langs(["fr", "de"]) is None and script_for_langs([]) is None
    with pytest.raises(ConfigError, match="mixes scripts"):
        script_for_langs(["hi", "ko"])
    with pytest.raises(ConfigError, match="mixes scripts"):
        script_for_langs(["hi", "en"])


def test_needs_shaping() -> None:
    assert needs_shaping("नमस्ते") and needs_shaping("abc क")
    assert not needs_shaping("한국어 123") and not needs_shaping("Straße")


def test_grapheme_clusters_and_both_error_rates() -> None:
    pytest.importorskip("regex")
    assert grapheme_clusters("किताब") == ["कि", "ता", "ब"]
    assert grapheme_clusters("한국") == ["한", "국"]
    # a dropped i-matra is one code point of five and one cluster (कि → क) of three
    cp, gc = cluster_edit_rate([("किताब", "कताब")])
    assert cp == pytest.approx(1 / 5) and gc == pytest.approx(1 / 3)


# --- fonts ------------------------------------------------------------------------------------------------------
def _font(family: str, codepoints: str, path: str | None = None) -> FontInfo:
    return FontInfo(
        path=path or f"/fonts/{family.replace(' ', '')}.ttf",
        family=family,
        style="Regular",
        monospace=False,
        category="sans",
        codepoints=frozenset(map(ord, codepoints + PRINTABLE_ASCII)),
    )


def test_training_fonts_never_hold_a_heldout_family() -> None:
    for name, script in SCRIPTS.items():
        letters = script.letters
        pool = [_font(f, letters) for f in sorted(HELDOUT_FAMILIES[name])] + [
            _font("Trained Sans", letters),
            _font("Trained Serif", letters),
            _font("Latin Only", ""),
        ]
        train = {f.family for f in script_fonts(script, "train", pool)}
        val = {f.family for f in script_fonts(script, "val", pool)}
        assert train == {"Trained Sans", "Trained Serif"}
        assert val == set(HELDOUT_FAMILIES[name]) and not train & val


def test_installed_heldout_families_are_real_fonts_of_their_script() -> None:
    """On a machine with the Makefile's font packages, each held-out family exists and draws its script."""
    for name in SCRIPTS:
        try:
            val = script_fonts(name, "val")
        except ConfigError:
            pytest.skip(f"the {name} font packages are not installed")
        train = script_fonts(name, "train")
        assert {f.family for f in val} == set(HELDOUT_FAMILIES[name])
        assert not {f.family for f in train} & HELDOUT_FAMILIES[name]
        assert not {f.path for f in train} & {f.path for f in val}


# --- the --lang table -------------------------------------------------------------------------------------------
def test_script_languages_map_to_their_packs() -> None:
    assert {code: lang.script for code, lang in SCRIPT_LANGUAGES.items()} == {
        "hi": "devanagari",
        "mr": "devanagari",
        "ne": "devanagari",
        "ko": "hangul",
    }
    assert SCRIPT_PACKS["devanagari"].recognizer == "crnn_deva" and SCRIPT_PACKS["hangul"].recognizer == "crnn_hangul"
    for pack in SCRIPT_PACKS.values():
        assert (Path(__file__).resolve().parent.parent / pack.recipe).is_file()
        assert pack.charset in SCRIPTS
    assert get_language("hin").code == "hi" and get_language("ko-KR").code == "ko"
    # the letters --lang asks for are the training charset's
    assert set(get_language("hi").letters) <= set(DEVANAGARI_SCRIPT)
    assert get_language("ko").letters == HANGUL_KS_X_1001
    # --lang auto guesses among Latin languages only; their table is unchanged
    assert not set(SCRIPT_LANGUAGES) & set(LANGUAGES)
    assert not set(latin_letters()) & set(DEVANAGARI_SCRIPT + HANGUL_KS_X_1001)


def test_lang_without_its_pack_names_the_pack_and_the_recipe() -> None:
    with pytest.raises(MissingWeights, match=r"crnn_deva.*recipes/rec_deva\.sh"):
        require_script_pack("hi", installed=["crnn_fast"])
    with pytest.raises(MissingWeights, match=r"crnn_hangul.*recipes/rec_hangul\.sh"):
        require_script_pack("ko", installed=["crnn_fast", "crnn_deva"])
    assert require_script_pack("mr", installed=["crnn_deva"]) == "crnn_deva"
    with pytest.raises(ConfigError, match="Latin"):
        require_script_pack("fr", installed=[])


def test_parse_lang_refuses_a_script_language_until_its_pack_is_bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    import textlens.languages as languages

    monkeypatch.setattr(languages, "installed_recognizers", lambda: ["crnn_fast"])
    with pytest.raises(MissingWeights, match="not installed yet"):
        parse_lang("hi")
    monkeypatch.setattr(languages, "installed_recognizers", lambda: ["crnn_fast", "crnn_hangul"])
    assert parse_lang("KO") == "ko"
    assert parse_lang("fr") == "fr"  # Latin languages need no pack


def test_read_with_a_missing_pack_is_a_usage_error_naming_the_recipe(tmp_path: Path) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from textlens.cli.app import app
    from textlens.languages import installed_recognizers

    if "crnn_hangul" in installed_recognizers():
        pytest.skip("the crnn_hangul pack is installed")
    page = tmp_path / "page.png"
    Image.new("RGB", (120, 40), "white").save(page)
    result = CliRunner().invoke(app, ["read", "--lang", "ko", str(page)])
    assert result.exit_code == 2
    assert "crnn_hangul" in result.output and "recipes/rec_hangul.sh" in result.output
    with pytest.raises(ConfigError):  # the library's OCR(lang=...) parses the same way
        parse_lang("ko")


def test_an_installed_pack_is_the_recogniser_its_languages_pick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With crnn_deva and crnn_hangul bundles in the weights folder, --lang hi/ko passes and picks them."""
    import json

    import textlens.models.bundle as bundle
    from textlens.runtime.loading import recognizer_for_letters

    for name, charset in (("crnn_fast", LATIN), ("crnn_deva", DEVANAGARI_LINES), ("crnn_hangul", HANGUL_LINES)):
        folder = tmp_path / name
        folder.mkdir()
        config = {"name": name, "family": "recognition", "arch": "crnn_fast", "charset": charset}
        config["default"] = name == "crnn_fast"
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        (folder / "model.onnx").write_bytes(b"")  # listed only: nothing loads it here
    monkeypatch.setattr(bundle, "WEIGHTS_ROOT", tmp_path)
    for code, pack in (("hi", "crnn_deva"), ("mr", "crnn_deva"), ("ne", "crnn_deva"), ("ko", "crnn_hangul")):
        assert parse_lang(code) == code
        assert recognizer_for_letters(get_language(code).alphabet) == (pack, "")
    assert recognizer_for_letters(get_language("en").alphabet)[0] == "crnn_fast"
