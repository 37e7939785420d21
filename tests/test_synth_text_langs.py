"""Text of real languages for synthetic lines: word lists, phrases with numbers, dates and amounts."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from textlens.data.charset import LATIN_EXT
from textlens.data.synth import languages
from textlens.data.synth.languages import (
    DATE_RATE,
    NUMBER_RATE,
    TOKEN_RATES,
    WORD_LISTS,
    LanguageSampler,
    LanguageText,
    WordList,
    language_words,
)
from textlens.data.synth.presets import PRESETS
from textlens.errors import ConfigError

WORDS = {
    "fr": "être\nà\ncœur\nhôtel\nnoël\nça\nvoilà\nœuvre\n\ufb01n\nécole\nAujourd'hui\n",
    "de": "Straße\nÄpfel\nÖl\nsüß\nGröße\nÜbung\nhaus\n",
    "en": "house\nwater\ncolour\nstreet\n",
}
CZECH_DIC = "5\nčlověk/PV\nŽena/a\tpo:noun\nřeka\nůl/H\n\n"
SWEDISH_LATIN1 = "sjö\nåsna\nfärg\n"


@pytest.fixture
def word_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    table = {}
    for lang, text in WORDS.items():
        path = tmp_path / lang
        path.write_text(text, encoding="utf-8")
        table[lang] = (WordList(path, f"w{lang}"),)
    (tmp_path / "cs_CZ.dic").write_text(CZECH_DIC, encoding="utf-8")
    table["cs"] = (WordList(tmp_path / "cs_CZ.dic", "hunspell-cs", hunspell=True),)
    (tmp_path / "swedish").write_bytes(SWEDISH_LATIN1.encode("latin-1"))
    table["sv"] = (WordList(tmp_path / "swedish", "wswedish"),)
    table["it"] = (WordList(tmp_path / "missing-italian", "witalian"),)
    table["fi"] = (WordList(tmp_path / "missing-finnish", None),)
    monkeypatch.setattr(languages, "WORD_LISTS", table)
    language_words.cache_clear()
    yield tmp_path
    language_words.cache_clear()


def test_word_lists_are_read_nfc_with_ligatures_spelt_out_and_filtered(word_lists: Path) -> None:
    fr = language_words("fr")
    assert "cœur" in fr and "fin" in fr and "Aujourd'hui" in fr
    assert all(unicodedata.normalize("NFC", w) == w for w in fr)
    assert language_words("cs") == ("člověk", "Žena", "řeka", "ůl")  # count line and /FLAGS stripped
    assert language_words("sv") == ("sjö", "åsna", "färg")  # ISO-8859-1 lists are read too
    assert "Straße" not in language_words("de", "Straeadhus")  # filtered to the charset


def test_a_missing_list_names_the_debian_package(word_lists: Path) -> None:
    with pytest.raises(ConfigError, match=r"'it'.*apt-get install witalian"):
        language_words("it")
    with pytest.raises(ConfigError, match="Debian ships no word list"):
        language_words("fi")
    with pytest.raises(ConfigError, match="unknown language"):
        LanguageText(["xx"])


def test_phrases_are_nfc_text_of_the_charset(word_lists: Path) -> None:
    text = LanguageText(["fr", "de", "cs"])
    rng = np.random.default_rng(0)
    allowed = set(LATIN_EXT) | {" "}
    for _ in range(500):
        for line in (text.phrase(rng), text.sentence(rng)):
            assert line and unicodedata.normalize("NFC", line) == line
            assert set(line) <= allowed, line
            assert "  " not in line and line == line.strip()


def test_phrases_mix_numbers_and_dates_at_their_rates(word_lists: Path) -> None:
    text = LanguageText(["de"])
    kinds = Counter(kind for kind, _ in text.tokens(np.random.default_rng(1), 2000, "de"))
    assert 0.5 * NUMBER_RATE * 2000 < kinds["number"] < 1.6 * NUMBER_RATE * 2000
    assert 0.4 * DATE_RATE * 2000 < kinds["date"] < 1.8 * DATE_RATE * 2000
    assert kinds["word"] > 0.75 * 2000 and set(kinds) <= {"word", *TOKEN_RATES}
    dates = [t for k, t in text.tokens(np.random.default_rng(2), 2000, "de") if k == "date"]
    assert dates and all(re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", d) for d in dates)


@pytest.mark.parametrize(("lang", "decimal", "other"), [("fr", ",", "."), ("de", ",", "."), ("en", ".", ",")])
def test_amounts_use_the_languages_decimal_separator(word_lists: Path, lang: str, decimal: str, other: str) -> None:
    text = LanguageText([lang])
    rng = np.random.default_rng(3)
    for _ in range(200):
        amount = text.amount(rng, lang)
        assert re.search(rf"\d{re.escape(decimal)}\d\d(\D|$)", amount), amount
        assert not re.search(rf"\d{re.escape(other)}\d\d(\D|$)", amount), amount


def test_language_sampler_draws_words_of_the_language_in_every_preset(word_lists: Path) -> None:
    rng = np.random.default_rng(4)
    for preset in PRESETS.values():
        sampler = LanguageSampler(["fr"], LATIN_EXT, preset.text_mix, preset.case_mix, preset.max_chars)
        for _ in range(100):
            line = sampler.sample(rng)
            assert 0 < len(line) <= preset.max_chars and set(line) <= set(LATIN_EXT) | {" "}
        words = {sampler.sample(rng, source="word") for _ in range(200)}
        assert {w.lower() for w in words} <= {w.lower() for w in language_words("fr")}
        email = sampler.sample(rng, source="email")
        assert email.isascii() and "@" in email and email.endswith(".fr")


def test_no_message_catalogs_among_the_word_lists() -> None:
    # The .mo catalogs installed packages ship are held-out text: no word list may point into them.
    for sources in WORD_LISTS.values():
        for source in sources:
            assert source.path.suffix != ".mo" and "locale" not in source.path.parts


def test_huge_lists_are_thinned_evenly(word_lists: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    words = [f"mot{i:03d}" for i in range(300)]
    (word_lists / "fr").write_text("\n".join(words) + "\n", encoding="utf-8")
    monkeypatch.setattr(languages, "MAX_WORDS", 10)
    thinned = language_words("fr")
    assert len(thinned) == 10 and set(thinned) <= set(words)
    assert thinned[0] == "mot000" and thinned[-1] >= "mot250"  # spread over the whole list


def test_line_renderer_renders_language_text_in_latin_ext(word_lists: Path) -> None:
    from textlens.data.synth.lines import LineRenderer

    renderer = LineRenderer(preset="scan", height=32, seed=0, langs=["fr", "de"])
    assert renderer.charset == LATIN_EXT
    samples = [renderer.sample_at(i) for i in range(12)]
    assert all(s.image.shape[0] == 32 and set(s.text) <= set(LATIN_EXT) | {" "} for s in samples)
    assert [s.text for s in samples] == [renderer.sample_at(i).text for i in range(12)]  # deterministic per seed


def test_a_training_source_names_its_languages() -> None:
    pytest.importorskip("torch")
    from textlens.data.charset import Charset
    from textlens.train.sources import build_source, parse_source

    source = build_source(parse_source("synth:preset=scan,langs=fr+pl"), Charset(LATIN_EXT))
    assert source.langs == ("fr", "pl")  # type: ignore[attr-defined]
    assert str(source) == "synth:preset=scan,fonts=train,langs=fr+pl"
