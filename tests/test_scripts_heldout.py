"""The held-out Devanagari and Hangul lines (recipes/prepare_script_lines.py): line rules, fonts never trained on,
the manifest, both error rates; and the bench set. Every catalog is built here, in Python."""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
from pathlib import Path

import pytest

from bench.sets import SETS
from textlens.data.synth.scripts import HELDOUT_FAMILIES, script_fonts
from textlens.errors import ConfigError

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "prepare_script_lines.py"
_spec = importlib.util.spec_from_file_location("prepare_script_lines", RECIPE)
assert _spec is not None and _spec.loader is not None
psl = importlib.util.module_from_spec(_spec)
sys.modules["prepare_script_lines"] = psl
_spec.loader.exec_module(psl)


def make_mo(messages: dict[str, str]) -> bytes:
    """A GNU .mo catalog in UTF-8 (header first, msgids sorted), without a hash table."""
    header = "Content-Type: text/plain; charset=UTF-8\n"
    entries = sorted([(b"", header.encode())] + [(k.encode(), v.encode()) for k, v in messages.items()])
    n = len(entries)
    ids_at, strs_at = 28, 28 + 8 * n
    data_at = strs_at + 8 * n
    id_table, str_table, blob = b"", b"", b""
    for key, _ in entries:
        id_table += struct.pack("<2I", len(key), data_at + len(blob))
        blob += key + b"\0"
    for _, value in entries:
        str_table += struct.pack("<2I", len(value), data_at + len(blob))
        blob += value + b"\0"
    return struct.pack("<7I", 0x950412DE, 0, n, ids_at, strs_at, 0, 0) + id_table + str_table + blob


def test_line_rules() -> None:
    assert psl.clean_line("File not found", "फ़ाइल नहीं मिली", "deva") == "फ़ाइल नहीं मिली"
    assert psl.clean_line("Open", "खोलें", "deva") == "खोलें"
    assert psl.clean_line("Open %s", "%s खोलें", "deva") is None  # placeholder
    assert psl.clean_line("_Open", "_खोलें", "deva") is None  # accelerator
    assert psl.clean_line("Open file", "Open file", "deva") is None  # untranslated
    assert psl.clean_line("Save", "Save फ़ाइल USB disk drive", "deva") is None  # mostly Latin letters
    assert psl.clean_line("Line\none", "पहली\nपंक्ति", "deva") is None  # two lines
    assert psl.clean_line("Terminal", "터미널 제어를 허용", "hangul") == "터미널 제어를 허용"
    assert psl.clean_line("Terminal", "터미널", "deva") is None  # another script
    assert psl.clean_line("Rare", "똠방각하 터미널", "hangul") is None  # 똠: not a KS X 1001 syllable


def test_candidates_from_a_catalog_dedupe_and_pick_by_hash() -> None:
    data = make_mo({"Yes": "हाँ", "Cancel": "रद्द करें", "Close": "बंद करें", "Quit": "बंद करें", "%d files": "%d फ़ाइलें"})
    lines = psl.candidates("hi", [("gtk30", data)])
    assert sorted(line.text for line in lines) == ["बंद करें", "रद्द करें"]  # हाँ: under 4 code points
    assert psl.acc.pick(lines, 1) == psl.acc.pick(list(reversed(lines)), 1)


def test_build_renders_in_heldout_fonts_only(tmp_path: Path) -> None:
    try:
        heldout = {f.path for f in script_fonts("deva", "val")} | {f.path for f in script_fonts("hangul", "val")}
    except ConfigError as exc:
        pytest.skip(str(exc))
    locale = tmp_path / "locale"
    for lang, messages in {
        "hi": {"Cancel": "रद्द करें", "Close": "बंद करें", "Print": "छापें"},
        "ko": {"Cancel": "취소", "Close": "닫기 단추", "Print the document": "문서 인쇄하기"},
    }.items():
        folder = locale / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "gtk30.mo").write_bytes(make_mo(messages))
    try:
        summary = psl.build(tmp_path / "out", ["hi", "ko", "ne"], per_lang=2, seed=0, locale_dir=locale)
    except ConfigError as exc:  # a word list or font package missing
        pytest.skip(str(exc))
    assert summary["langs"]["hi"]["lines"] == 2 and "ne" in summary["skipped"]
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [r["lang"] for r in records] == ["hi", "ko", "hi", "ko"]  # interleaved
    heldout_names = {Path(p).name for p in heldout}
    for record in records:
        assert record["font"] in heldout_names
        assert (tmp_path / "out" / record["image"]).is_file()


def test_heldout_families_are_excluded_from_training_fonts() -> None:
    for script, families in HELDOUT_FAMILIES.items():
        try:
            train = script_fonts(script, "train")
        except ConfigError as exc:
            pytest.skip(str(exc))
        assert families and not {f.family for f in train} & families


def test_blank_glyphs_are_not_coverage() -> None:
    """Kalimati maps ळ to an empty glyph: texts with it must go to another font, or the crop lacks a letter."""
    try:
        kalimati = [f for f in script_fonts("deva", "val") if f.family == "Kalimati"]
    except ConfigError as exc:
        pytest.skip(str(exc))
    if not kalimati:
        pytest.skip("fonts-deva-extra is not installed")
    assert ord("ळ") not in kalimati[0].codepoints and ord("क") in kalimati[0].codepoints


def test_score_gives_both_error_rates(tmp_path: Path) -> None:
    pytest.importorskip("regex")
    predictions = tmp_path / "pred.jsonl"
    rows = [{"text": "किताब", "pred": "कताब"}, {"text": "한국어", "pred": "한국어"}]
    predictions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = psl.score(predictions)
    assert result["lines"] == 2
    assert result["cer_code_points"] == pytest.approx(1 / 8)
    assert result["cer_grapheme_clusters"] == pytest.approx(1 / 6)


def test_bench_set() -> None:
    bench_set = SETS["script_lines"]
    assert bench_set.kind == "rec" and bench_set.crop_kind == "line" and not bench_set.default
    assert bench_set.source.endswith("runs/script-lines/manifest.jsonl")
    assert "prepare_script_lines.py" in bench_set.build
