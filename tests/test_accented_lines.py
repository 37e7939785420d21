"""The accented-lines set (recipes/prepare_accented_lines.py): .mo reading, the line rules, the fixed choice, the
manifest; its per-language scores in ``textlens eval`` and the bench. Every catalog is built here, in Python."""

from __future__ import annotations

import gettext
import importlib.util
import io
import json
import struct
import sys
from pathlib import Path

import pytest
from PIL import Image

from bench.peers import tesseract
from bench.run import by_lang_table
from bench.sets import SETS
from textlens.errors import ConfigError
from textlens.eval.results import rec_result

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "prepare_accented_lines.py"
_spec = importlib.util.spec_from_file_location("prepare_accented_lines", RECIPE)
assert _spec is not None and _spec.loader is not None
acc = importlib.util.module_from_spec(_spec)
sys.modules["prepare_accented_lines"] = acc
_spec.loader.exec_module(acc)


def make_mo(messages: dict[str, str], charset: str = "UTF-8", order: str = "<") -> bytes:
    """A GNU .mo catalog (header entry first, msgids sorted), as msgfmt writes it, without a hash table."""
    header = f"Content-Type: text/plain; charset={charset}\nPlural-Forms: nplurals=2; plural=(n != 1);\n"
    entries = sorted(
        [(b"", header.encode("ascii"))] + [(k.encode(charset), v.encode(charset)) for k, v in messages.items()]
    )
    n = len(entries)
    ids_at, strs_at = 28, 28 + 8 * n
    data_at = strs_at + 8 * n
    id_table, str_table, blob = b"", b"", b""
    for key, _ in entries:
        id_table += struct.pack(f"{order}2I", len(key), data_at + len(blob))
        blob += key + b"\0"
    for _, value in entries:
        str_table += struct.pack(f"{order}2I", len(value), data_at + len(blob))
        blob += value + b"\0"
    head = struct.pack(f"{order}7I", 0x950412DE, 0, n, ids_at, strs_at, 0, 0)
    return head + id_table + str_table + blob


def test_read_mo_decodes_the_catalog_the_way_gettext_does() -> None:
    messages = {"File not found": "Fichier introuvable", "Permission denied": "Permission refusée"}
    data = make_mo(messages)
    ours = dict(acc.read_mo(data))
    theirs = gettext.GNUTranslations(io.BytesIO(data))
    assert ours == messages
    assert all(theirs.gettext(k) == v for k, v in ours.items())
    # big-endian catalogs and a legacy 8-bit charset (Latin-2 for Polish) decode too
    pl = {"Bad option": "Zła opcja"}
    assert dict(acc.read_mo(make_mo(pl, charset="ISO-8859-2", order=">"))) == pl
    with pytest.raises(ValueError, match="magic"):
        acc.read_mo(b"\0" * 40)


def test_read_mo_gives_every_plural_form_and_drops_contexts() -> None:
    data = make_mo({"one file\0%d files": "un fichier\0plusieurs fichiers", "menu\x04Open": "Ouvrir le fichier"})
    assert sorted(acc.read_mo(data)) == [
        ("Open", "Ouvrir le fichier"),
        ("one file", "plusieurs fichiers"),
        ("one file", "un fichier"),
    ]


@pytest.mark.parametrize(
    ("msgid", "msgstr", "line"),
    [
        ("File not found", "Fichier introuvable", "Fichier introuvable"),
        ("File not found\n", "Fichier introuvable\n", "Fichier introuvable"),  # ends stripped
        ("two  spaces", "deux   espaces  ici", "deux espaces ici"),  # runs of spaces collapsed
        ("decomposed", "De\u0301ja\u0300 vu, c\u0327a", "Déjà vu, ça"),  # NFC
        ("ligature", "\ufb01chier introuvable", "fichier introuvable"),  # ligatures spelt out
        ("DPKG_ROOT set", "DPKG_ROOT est défini", "DPKG_ROOT est défini"),  # "_" inside a word is no accelerator
        ("eight", "Äöüßäöüß", "Äöüßäöüß"),  # 8 characters: the shortest kept
        ("sixty", "a" * 60, "a" * 60),  # 60: the longest kept
        ("Turkish", "Geçersiz şifre ığüşöç", "Geçersiz şifre ığüşöç"),
        ("Romanian", "Fișierul țintă lipsește", "Fișierul țintă lipsește"),
    ],
)
def test_clean_line_keeps_and_normalises_good_lines(msgid: str, msgstr: str, line: str) -> None:
    assert acc.clean_line(msgid, msgstr) == line


@pytest.mark.parametrize(
    ("msgid", "msgstr"),
    [
        ("Not translated", ""),
        ("File not found", "File not found"),  # the English original: not the language's text
        ("two lines", "ligne une\nligne deux"),
        ("a tab", "colonne\tcolonne deux"),
        ("short", "Oui non"),  # 7 characters
        ("long", "a" * 61),
        ("%s: not found", "%s : introuvable"),
        ("%d files", "%d fichiers trouvés"),
        ("%1$s and %2$s", "%2$s et puis %1$s"),
        ("%-10s column", "%-10s colonne ici"),
        ("100%% done", "terminé à 100%%"),
        ("{} files", "{} fichiers trouvés"),
        ("{name} missing", "{name} est manquant"),
        ("_File menu", "_Fichier ouvert"),  # accelerators
        ("&File menu", "&Fichier ouvert"),
        ("Save", "Enre&gistrer sous"),
        ("Cyrillic", "Файл не найден"),  # outside latin_ext
        ("CJK", "ファイルが見つかりません"),
        ("arrow", "suivant → précédent"),
        ("Greek", "Fichier αβγ introuvable"),
        ("symbols", "-- 1234 / 5678 --"),  # under half letters
    ],
)
def test_clean_line_skips_lines_that_break_a_rule(msgid: str, msgstr: str) -> None:
    assert acc.clean_line(msgid, msgstr) is None


def test_every_kept_line_is_within_latin_ext_and_the_length_limits() -> None:
    messages = {f"m{i}": f"Ligne numéro {i} à lire" + "é" * (i % 50) for i in range(100)}
    lines = acc.candidates("fr", [("coreutils", make_mo(messages))])
    assert lines and all(8 <= len(x.text) <= 60 and set(x.text) <= acc.ALLOWED for x in lines)
    assert len(lines) == sum(8 <= len(v) <= 60 for v in messages.values())


def test_candidates_pool_domains_once_and_name_the_first() -> None:
    a = make_mo({"Invalid option": "Option non valable", "Out of memory": "Mémoire épuisée"})
    b = make_mo({"Bad option": "Option non valable", "Try again": "Essayez encore une fois"})
    lines = acc.candidates("fr", [("coreutils", a), ("tar", b)])
    assert [(x.text, x.domain) for x in lines] == [
        ("Option non valable", "coreutils"),
        ("Mémoire épuisée", "coreutils"),
        ("Essayez encore une fois", "tar"),
    ]
    assert all(x.lang == "fr" for x in lines)


def test_pick_is_fixed_by_the_texts_not_their_order() -> None:
    lines = [acc.Line("de", f"Zeile Nummer {i} öffnen", "dpkg") for i in range(50)]
    chosen = acc.pick(lines, 10)
    assert len(chosen) == 10
    assert acc.pick(list(reversed(lines)), 10) == chosen
    assert acc.pick(lines[::2] + lines[1::2], 10) == chosen
    # the smallest SHA-256 of "<lang>\0<text>"
    expected = sorted(lines, key=lambda x: acc.line_digest("de", x.text))[:10]
    assert chosen == expected
    assert acc.pick(lines[:3], 10) == sorted(lines[:3], key=lambda x: acc.line_digest("de", x.text))
    # the language is part of the hash: the same texts are picked differently in another language
    other = acc.pick([acc.Line("nl", x.text, "dpkg") for x in lines], 10)
    assert [x.text for x in other] != [x.text for x in chosen]


def test_the_domains_are_debian_base_packages() -> None:
    assert {"coreutils", "bash", "dpkg", "apt", "grep", "findutils", "diffutils", "tar", "sed"} <= set(acc.DOMAINS)
    assert "Linux-PAM" in acc.DOMAINS and "adduser" in acc.DOMAINS
    assert "held-out" in acc.__doc__.lower() and "never" in acc.__doc__


def test_natural_height_keeps_captures_between_32_and_64_px() -> None:
    import numpy as np

    for h, w, want in [(20, 100, 32), (40, 200, 40), (90, 300, 64)]:
        out = acc.natural_height(np.zeros((h, w, 3), np.uint8))
        assert out.shape[0] == want
        assert abs(out.shape[1] - w * want / h) <= 1


def test_build_writes_a_manifest_per_language_and_skips_a_language_without_catalogs(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    fr = {f"Message {i}": f"Le fichier numéro {i} est déjà ouvert" for i in range(6)}
    pl = {f"Message {i}": f"Plik numer {i} jest już otwarty" for i in range(6)}
    for lang, messages, domain in (("fr", fr, "coreutils"), ("pl", pl, "dpkg")):
        folder = locale / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / f"{domain}.mo").write_bytes(make_mo(messages))
    (locale / "fr" / "LC_MESSAGES" / "unrelated.mo").write_bytes(make_mo({"Other": "Un autre domaine ici"}))
    out = tmp_path / "out"
    try:
        summary = acc.build(out, ["fr", "de", "pl"], per_lang=4, seed=0, locale_dir=locale)
    except ConfigError as exc:  # no held-out ("val") font with the latin_ext letters installed
        pytest.skip(f"no validation fonts to render with: {exc}")
    assert "de" in summary["skipped"] and set(summary["langs"]) == {"fr", "pl"}
    assert summary["langs"]["fr"] == {"domains": ["coreutils"], "candidates": 6, "lines": 4}
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["lang"] for r in records] == ["fr", "pl"] * 4  # interleaved
    assert {r["text"] for r in records if r["lang"] == "fr"} <= set(fr.values())
    assert all(r["domain"] in {"coreutils", "dpkg"} and r["font"] for r in records)
    for r in records:
        with Image.open(out / r["image"]) as im:
            assert 32 <= im.height <= 64 and im.width > im.height
    first = (out / records[0]["image"]).read_bytes()
    acc.build(out, ["fr", "pl"], per_lang=4, seed=0, locale_dir=locale)
    assert (out / records[0]["image"]).read_bytes() == first  # the same crops again
    assert json.loads((out / "sources.json").read_text())["per_lang"] == 4


def test_rec_results_break_down_by_language_only_when_crops_have_one() -> None:
    images = [Path(f"{i}.png") for i in range(4)]
    truths = ["café", "Straße", "żółw", "café"]
    preds = ["cafe", "Straße", "zolw", "café"]
    j = rec_result(images, truths, preds, langs=["fr", "de", "pl", "fr"]).to_json()
    assert list(j["by_lang"]) == ["fr", "de", "pl"]
    assert j["by_lang"]["fr"]["count"] == 2 and j["by_lang"]["fr"]["word_acc"] == 0.5
    assert j["by_lang"]["fr"]["cer"] == pytest.approx(1 / 8)
    assert j["by_lang"]["de"]["cer"] == 0.0 and j["by_lang"]["pl"]["cer"] == pytest.approx(3 / 4)
    assert "by_lang" not in rec_result(images, truths, preds).to_json()


def test_bench_has_the_set_and_tesseract_a_pack_for_every_language() -> None:
    s = SETS["accented_lines"]
    assert (s.kind, s.crop_kind, s.default) == ("rec", "line", True)
    assert "prepare_accented_lines.py" in s.build
    assert set(acc.LANGS) <= set(tesseract.PACKS)
    assert tesseract.PACKS["nb"] == "nor" and tesseract.PACKS["cs"] == "ces"


def test_the_bench_table_has_a_row_per_language_and_one_for_all() -> None:
    def row(engine: str, cer: float) -> dict:
        by = {"fr": {"count": 2, "cer": cer, "word_acc": 0.5}, "de": {"count": 2, "cer": 0.0, "word_acc": 1.0}}
        return {"engine": engine, "threads": 1, "count": 4, "cer": cer / 2, "word_acc": 0.75, "by_lang": by}

    text = by_lang_table([row("textlens", 0.1), row("tesseract", 0.02)])
    lines = text.splitlines()
    assert "textlens CER %" in lines[0] and "tesseract lines right %" in lines[0]
    assert lines[2].startswith("| French (fr) | 2 | 10.00 | 50.0 | 2.00 | 50.0 |")
    assert lines[3].startswith("| German (de) | 2 | 0.00 | 100.0 |")
    assert lines[4] == "| **all** | 4 | **5.00** | **75.0** | **1.00** | **75.0** |"


def test_the_bench_worker_reads_each_crop_with_its_languages_recogniser(tmp_path: Path) -> None:
    import time
    from types import SimpleNamespace

    import numpy as np

    from bench.worker import evaluate_recognizer_by_lang
    from textlens.data.manifest import ManifestRecord
    from textlens.runtime.base import Recognition

    built = []

    def recognizer(kind: str, threads: int | None, lang: str = "en") -> SimpleNamespace:
        built.append((kind, lang))
        return SimpleNamespace(recognize=lambda crops: [Recognition(f"read in {lang}", 1.0) for _ in crops])

    records = []
    for i, lang in enumerate(["fr", "pl", "fr"]):
        Image.fromarray(np.full((32, 96, 3), 255, np.uint8)).save(tmp_path / f"{i}.png")
        records.append(ManifestRecord(tmp_path / f"{i}.png", "crop", text="read in fr", extra={"lang": lang}))
    result = evaluate_recognizer_by_lang(
        SimpleNamespace(recognizer=recognizer), "line", 1, records, time.perf_counter()
    )
    assert built == [("line", "fr"), ("line", "pl")]  # one recogniser per language, built up front
    assert [it.pred for it in result.items] == ["read in fr", "read in pl", "read in fr"]
    j = result.to_json()
    assert j["by_lang"]["fr"]["word_acc"] == 1.0 and j["by_lang"]["pl"]["word_acc"] == 0.0
    assert j["count"] == 3 and j["ms_per_item"] is not None
