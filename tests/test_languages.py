"""--lang: the language list, the recogniser it picks, the warning for letters no recogniser reads, the per-page
guess of --lang auto, and the language in JSON, hOCR, ALTO and PDF."""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.cli import read as read_cli
from textlens.cli.app import app
from textlens.data.charset import LATIN, LATIN_EXT
from textlens.document import Block, Document, Line, Page, Word
from textlens.errors import ConfigError
from textlens.io.write import render
from textlens.languages import (
    AUTO,
    LANGUAGES,
    LanguageWarning,
    coverage_warning,
    get_language,
    guess_language,
    latin_letters,
    parse_lang,
)
from textlens.models.bundle import Bundle
from textlens.pipeline import OCR
from textlens.runtime import loading
from textlens.runtime.base import Recognition

runner = CliRunner()
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XHTML = "{http://www.w3.org/1999/xhtml}"
ALTO = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}

FRENCH = "Le chat est sur la table et il dort dans la maison avec les enfants, c'est l'été"
GERMAN = "Der Hund ist nicht in dem Haus, aber die Katze schläft auf dem Sofa, weil es für sie warm ist"
ENGLISH = "The cat is on the table and it sleeps in the house with the children, which they have not seen"
POLISH = "Pies nie jest w domu, ale kot śpi na kanapie z dziećmi"
CZECH = "Pes není v domě, ale kočka spí na pohovce s dětmi, protože je tam"
# What a recogniser without accented letters reads.
FRENCH_ASCII = "Le chat est sur la table et il dort dans la maison avec les enfants"
GERMAN_ASCII = "Der Hund ist nicht in dem Haus, aber die Katze schlaft auf dem Sofa"
ISSUE_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sk", "hu", "ro", "tr", "sv", "da", "nb", "fi")


# ---------------------------------------------------------------- the list


def test_the_issue_languages_are_all_latin_with_their_letters() -> None:
    for code in ISSUE_LANGUAGES:
        assert LANGUAGES[code].script == "latin"
    assert get_language("en").alphabet == ""
    assert set("éèçœÉÈÇŒ") <= set(get_language("fr").alphabet)
    assert set("äöüßÄÖÜ") <= set(get_language("de").alphabet) and "SS" not in get_language("de").alphabet
    assert "İ" in get_language("tr").alphabet and "ı" in get_language("tr").alphabet
    assert set("ąłżŁŻ") <= set(get_language("pl").alphabet)
    assert set("șțȘȚ") <= set(get_language("ro").alphabet)


def test_codes_aliases_regions_and_unknown_languages() -> None:
    assert parse_lang(None) is None and parse_lang("") is None
    assert parse_lang("AUTO") == AUTO
    assert parse_lang("FR") == "fr" and parse_lang("pt-BR") == "pt" and parse_lang("de_AT") == "de"
    assert parse_lang("no") == "nb"
    with pytest.raises(ConfigError, match=r"unknown language 'xx'.*auto.*fr"):
        parse_lang("xx")


def test_latin_ext_writes_every_language_but_vietnamese_and_latin_only_english_like_ones() -> None:
    needs_more = {code for code, lang in LANGUAGES.items() if lang.missing_letters(LATIN_EXT)}
    assert needs_more == {"vi"}
    ascii_only = {code for code, lang in LANGUAGES.items() if not lang.missing_letters(LATIN)}
    assert {"en", "id", "ms", "sw"} == ascii_only
    assert get_language("fr").missing_letters(LATIN).startswith("àâæç")


def test_conventions_agree_with_the_training_side_formats() -> None:
    from textlens.data.synth.languages import FORMATS

    for code, fmt in FORMATS.items():
        lang = get_language(code)
        assert (lang.decimal, lang.thousands) == (fmt.decimal, fmt.thousands), code
        assert lang.quotes == tuple(q.strip() for q in fmt.quotes[0]), code


def test_hyphen_joins_follow_the_language() -> None:
    assert get_language("en").join_hyphenated("infor-", "mation") == "information"
    assert get_language("pt").join_hyphenated("guarda-", "-chuva") == "guarda-chuva"
    assert get_language("en").join_hyphenated("Max-", "Planck") == "Max-Planck"
    assert get_language("de").join_hyphenated("Haus", "tür") == "Haustür"


# ---------------------------------------------------------------- the guess


def test_guess_tells_french_german_and_english_apart() -> None:
    assert guess_language(FRENCH.split()) == "fr"
    assert guess_language(GERMAN.split()) == "de"
    assert guess_language(ENGLISH.split()) == "en"
    assert guess_language(POLISH.split()) == "pl"
    assert guess_language(CZECH.split()) == "cs"


def test_guess_works_on_text_read_without_accents() -> None:
    assert guess_language(FRENCH_ASCII.split()) == "fr"  # the stopwords still tell
    assert guess_language(GERMAN_ASCII.split()) == "de"


def test_no_guess_without_words_to_go_on() -> None:
    assert guess_language([]) is None
    assert guess_language(["12,50", "2024-01-31", "#42"]) is None
    assert guess_language(["Hunden"]) is None


# ---------------------------------------------------------------- the recogniser


def _bundles(monkeypatch: pytest.MonkeyPatch, *bundles: Bundle) -> None:
    monkeypatch.setattr(loading, "list_bundles", lambda family=None, onnx=False: list(bundles))


def _bundle(name: str, charset: str, default: bool = False) -> Bundle:
    return Bundle(name, Path("/nowhere") / name, {"family": "recognition", "charset": charset, "default": default})


def test_the_recogniser_that_writes_the_language_is_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    _bundles(monkeypatch, _bundle("ascii_model", LATIN, default=True), _bundle("accents_model", LATIN_EXT))
    assert loading.recognizer_for_letters(get_language("en").alphabet) == ("ascii_model", "")
    assert loading.recognizer_for_letters(get_language("fr").alphabet) == ("accents_model", "")
    assert loading.recognizer_for_letters(latin_letters())[0] == "accents_model"
    name, missing = loading.recognizer_for_letters(get_language("vi").alphabet)
    assert name == "accents_model" and "ạ" in missing and "é" not in missing


def test_the_best_recogniser_reads_on_when_none_writes_the_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    _bundles(monkeypatch, _bundle("ascii_model", LATIN, default=True))
    name, missing = loading.recognizer_for_letters(get_language("de").alphabet)
    assert name == "ascii_model" and set(missing) == set("äöüßÄÖÜ")


def test_the_warning_names_the_language_and_the_missing_letters() -> None:
    text = coverage_warning("de", "crnn_fast", LATIN)
    assert text is not None
    assert "--lang de (German)" in text and "ä ö ü ß" in text and "crnn_fast" in text
    assert coverage_warning("de", "wide", LATIN_EXT) is None
    assert coverage_warning("en", "crnn_fast", LATIN) is None
    assert coverage_warning("fr", "custom", None) is None  # a recogniser object without a charset
    auto = coverage_warning(AUTO, "crnn_fast", LATIN)
    assert auto is not None and "fr, de" in auto
    assert coverage_warning(AUTO, "wide", LATIN_EXT) is not None  # Vietnamese still lacks letters


# ---------------------------------------------------------------- the pipeline


class SaysRecognizer:
    """Reads every crop as the same text, over a charset (as an OnnxRecognizer has one)."""

    name = "fake-says"

    def __init__(self, text: str, charset: str | None = LATIN) -> None:
        self.text = text
        if charset is not None:
            self.charset = charset

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        n = len(self.text)
        xs = tuple((i + 0.5) / n for i in range(n))
        return [Recognition(text=self.text, confidence=0.95, char_confidences=(0.95,) * n, char_x=xs) for _ in crops]


def _page_image() -> np.ndarray:
    image = np.full((120, 900, 3), 255, dtype=np.uint8)
    image[40:70, 20:880] = 0
    return image


def test_ocr_lang_records_the_language_and_warns_once_about_missing_letters() -> None:
    with pytest.warns(LanguageWarning, match=r"--lang fr \(French\).*é"):
        ocr = OCR(detector=InkBlobDetector(), recognizer=SaysRecognizer(FRENCH), lang="fr", orientation=False)
    assert ocr.language_warning is not None
    document = ocr.read(_page_image())
    assert [p.lang for p in document.pages] == ["fr"]
    assert document.lang == "fr" and document.metadata["lang"] == "fr"


def test_ocr_without_lang_records_none_and_a_recogniser_without_charset_is_not_judged() -> None:
    ocr = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), orientation=False)
    assert ocr.read(_page_image()).pages[0].lang is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", LanguageWarning)
        ocr = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), lang="pl", orientation=False)
    assert ocr.language_warning is None
    assert ocr.read(_page_image()).pages[0].lang == "pl"


@pytest.mark.parametrize(("text", "expected"), [(FRENCH, "fr"), (GERMAN, "de"), (ENGLISH, "en")])
def test_ocr_lang_auto_guesses_each_page(text: str, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LanguageWarning)
        ocr = OCR(detector=InkBlobDetector(), recognizer=SaysRecognizer(text), lang="auto", orientation=False)
    document = ocr.read(_page_image())
    assert document.pages[0].lang == expected
    assert document.metadata["lang"] == "auto"


def test_bundled_recogniser_for_french_is_the_default_with_a_warning_until_an_accented_one_is_bundled() -> None:
    bundles = {b.name: b for b in loading.list_bundles("recognition", onnx=True)}
    if not bundles:
        pytest.skip("no bundled recogniser")
    name, missing = loading.recognizer_for_letters(get_language("fr").alphabet)
    if missing:
        with pytest.warns(LanguageWarning, match="French"):
            ocr = OCR(detector=InkBlobDetector(), lang="fr")
    else:
        ocr = OCR(detector=InkBlobDetector(), lang="fr")
        assert ocr.language_warning is None
    assert getattr(ocr.recognizer, "name", None) == name
    assert set(get_language("fr").alphabet) - set(getattr(ocr.recognizer, "charset", "")) == set(missing)


# ---------------------------------------------------------------- the outputs


def _doc(*langs: str | None) -> Document:
    pages = []
    for i, lang in enumerate(langs):
        word = Word("été", (10.0, 10.0, 60.0, 30.0), 0.9)
        pages.append(Page(width=100, height=50, blocks=(Block((Line((word,)),)),), index=i, lang=lang))
    return Document(pages=tuple(pages))


def test_json_carries_the_page_language_and_old_json_loads() -> None:
    data = json.loads(render(_doc("fr", None), "json"))
    assert [p["lang"] for p in data["pages"]] == ["fr", None]
    assert Document.from_dict(data) == _doc("fr", None)
    del data["pages"][0]["lang"]  # JSON written before the field
    assert Document.from_dict(data).pages[0].lang is None


def test_hocr_carries_lang_on_pages_and_on_html_when_they_agree() -> None:
    root = ET.fromstring(render(_doc("fr", "fr"), "hocr").encode("utf-8"))
    assert root.get("lang") == "fr" and root.get(XML_LANG) == "fr"
    pages = [e for e in root.iter(f"{XHTML}div") if e.get("class") == "ocr_page"]
    assert [(p.get("lang"), p.get(XML_LANG)) for p in pages] == [("fr", "fr"), ("fr", "fr")]

    mixed = ET.fromstring(render(_doc("fr", "de"), "hocr").encode("utf-8"))
    assert mixed.get("lang") is None
    assert [p.get("lang") for p in mixed.iter(f"{XHTML}div") if p.get("class") == "ocr_page"] == ["fr", "de"]

    unknown = ET.fromstring(render(_doc(None), "hocr").encode("utf-8"))
    assert unknown.get("lang") is None
    assert all(e.get("lang") is None for e in unknown.iter())


def test_alto_carries_lang_on_text_blocks() -> None:
    root = ET.fromstring(render(_doc("de", None), "alto").encode("utf-8"))
    pages = root.findall("a:Layout/a:Page", ALTO)
    assert [b.get("LANG") for b in pages[0].iter(f"{{{ALTO['a']}}}TextBlock")] == ["de"]
    assert [b.get("LANG") for b in pages[1].iter(f"{{{ALTO['a']}}}TextBlock")] == [None]


def test_pdf_catalog_carries_the_document_language() -> None:
    image = np.full((50, 100, 3), 255, dtype=np.uint8)
    data = render(_doc("pl"), "pdf", images=[image])
    assert isinstance(data, bytes)
    assert b"/Lang <FEFF" + "pl".encode("utf-16-be").hex().upper().encode() + b">" in data
    assert b"/Lang" not in render(_doc(None), "pdf", images=[image])


# ---------------------------------------------------------------- the CLI


def _page_file(path: Path) -> Path:
    Image.fromarray(_page_image()).save(path)
    return path


@pytest.fixture
def says(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The read command with stand-in models reading the text given in the list (first item)."""
    text = [FRENCH]

    def build(options: read_cli.ReadOptions) -> OCR:
        with warnings.catch_warnings():  # as the real build_ocr: read() prints the warning itself
            warnings.simplefilter("ignore", LanguageWarning)
            return OCR(
                detector=InkBlobDetector(), recognizer=SaysRecognizer(text[0]), lang=options.lang, orientation=False
            )

    monkeypatch.setattr(read_cli, "build_ocr", build)
    return text


def test_cli_lang_writes_the_language_and_warns_once(tmp_path: Path, says: list[str]) -> None:
    page = _page_file(tmp_path / "page.png")
    result = runner.invoke(app, ["read", str(page), "--lang", "fr", "-f", "json", "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out.json").read_text())["pages"][0]["lang"] == "fr"
    assert result.output.count("warning") == 1
    assert "--lang fr (French)" in result.output and "é" in result.output


def test_cli_lang_auto_guesses_per_page(tmp_path: Path, says: list[str]) -> None:
    page = _page_file(tmp_path / "page.png")
    says[0] = GERMAN
    result = runner.invoke(app, ["read", str(page), "--lang", "auto", "-f", "hocr", "-o", str(tmp_path / "out.hocr")])
    assert result.exit_code == 0, result.output
    root = ET.fromstring((tmp_path / "out.hocr").read_bytes())
    assert [p.get("lang") for p in root.iter(f"{XHTML}div") if p.get("class") == "ocr_page"] == ["de"]


def test_cli_unknown_lang_is_a_usage_error(tmp_path: Path, says: list[str]) -> None:
    result = runner.invoke(app, ["read", str(_page_file(tmp_path / "page.png")), "--lang", "klingon"])
    assert result.exit_code == 2
    assert "unknown language" in result.output


def test_cli_languages_lists_codes_names_and_recognisers() -> None:
    result = runner.invoke(app, ["languages", "--letters"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    french = next(line for line in lines if line.startswith("fr "))
    assert "French" in french and "àâæç" in french
    assert any(line.startswith("vi ") and "Vietnamese" in line for line in lines)
    assert lines[-1].startswith("auto")
