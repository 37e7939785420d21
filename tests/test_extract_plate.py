"""Licence plates (textlens.extract.plate*): format checkers, confusion normalisation, constrained CTC decoding,
synthetic plate scenes, ``textlens extract plate`` and ``textlens eval extract --task plate``. Every image is
generated here."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from textlens.cli.app import app
from textlens.data.synth.plate import render_plate_scene
from textlens.extract.plate import decode_plate, fold_probabilities
from textlens.extract.plate_eval import score_image
from textlens.extract.plate_formats import FORMATS, compact, formats_of, match_plate, random_plate

ACCEPT = {
    "GB:current": ["AB12 CDE", "YS80UAD"],
    "GB:prefix": ["A123 BCD"],
    "DE:standard": ["B-MW 1234", "M AB 12", "HH-X 7"],
    "FR:siv": ["AB-123-CD"],
    "NL:sidecode-7": ["12-BDF-3"],
    "NL:sidecode-9": ["GB-123-T"],
    "IT:current": ["AB 123CD"],
    "ES:current": ["1234 BCD"],
    "PL:two-letter": ["WA 12345", "KR 1234"],
    "PL:three-letter-mixed": ["WPI 12AB"],
    "US-CA:standard": ["7ABC123"],
    "US-NY:aaa-9999": ["ABC-1234"],
    "US-FL:standard": ["ABC D12"],
    "IN:standard": ["MH 12 AB 1234", "KA 05 M 1234"],
    "IN:bh": ["22 BH 1234 AA"],
}
REJECT = {
    "GB:current": ["AB12 CD", "ABC 1234", "AI12 CDE"],  # too short, wrong shape, no I
    "DE:standard": ["ABCDEF 12", "B-MW 12345", "ABC-DE 1234"],  # 6 letters, 5 digits, 9 characters
    "FR:siv": ["AO-123-CD", "AB-1234-CD"],  # no O, four digits
    "NL:sidecode-7": ["12-ABE-3"],  # vowels are not issued
    "ES:current": ["1234 ABC"],  # no vowels
    "IT:current": ["AB 123CO"],
    "US-CA:standard": ["ABC1234"],
    "IN:standard": ["ZZ 12 AB 1234"],  # not a state code
}


def _format(key: str):
    return next(f for f in FORMATS if f.key == key)


@pytest.mark.parametrize("key", sorted(ACCEPT))
def test_formats_accept_their_plates(key: str) -> None:
    fmt = _format(key)
    for plate in ACCEPT[key]:
        assert fmt.accepts(compact(plate)), (key, plate)


@pytest.mark.parametrize("key", sorted(REJECT))
def test_formats_reject_other_strings(key: str) -> None:
    fmt = _format(key)
    for plate in REJECT[key]:
        assert not fmt.accepts(compact(plate)), (key, plate)


def test_every_format_draws_plates_it_accepts_and_prints_them_back() -> None:
    rng = np.random.default_rng(0)
    for fmt in FORMATS:
        for _ in range(5):
            plate = random_plate(rng, fmt)
            assert fmt.accepts(plate), (fmt.key, plate)
            assert compact(fmt.display(plate)) == plate
    assert _format("FR:siv").display("AB123CD") == "AB-123-CD"
    assert _format("IN:standard").display("MH12AB1234") == "MH 12 AB 1234"


def test_regions_select_formats() -> None:
    assert {f.region for f in formats_of(["US"])} == {"US-CA", "US-NY", "US-FL", "US-IL"}
    assert {f.region for f in formats_of(["de", "NL"])} == {"DE", "NL"}
    assert formats_of(["XX"]) == ()


def test_confusions_are_normalised_only_where_the_format_demands() -> None:
    spanish = {m.format.key: m for m in match_plate("I23S 8CD", formats_of(["ES"]))}
    # I→1 and S→5 where ES needs digits, 8→B where it needs a letter
    assert spanish["ES:current"].plate == "1235BCD"
    assert spanish["ES:current"].changes == 3
    # letters that may stand where they are stay as read: O is a letter at a British letter position
    british = {m.format.key: m for m in match_plate("OB12 CDE", formats_of(["GB"]))}
    assert british["GB:current"].plate == "OB12CDE" and british["GB:current"].changes == 0
    # a digit where the format needs one of its letters, and no look-alike allowed there: no match
    assert not match_plate("AB-123-C0", formats_of(["FR"]))  # 0 → O, but SIV plates have no O
    assert match_plate("AB-123-CD", formats_of(["FR"]))[0].changes == 0


def _probabilities(path: list[dict[str, float]], charset: str) -> np.ndarray:
    """A T×K CTC matrix: per step, the given characters' probabilities ("" the blank), the rest spread thinly."""
    probs = np.full((len(path), len(charset) + 1), 1e-4)
    for t, step in enumerate(path):
        for ch, p in step.items():
            probs[t, 0 if ch == "" else charset.index(ch) + 1] = p
    return probs / probs.sum(axis=1, keepdims=True)


def test_constrained_decoding_reads_the_likeliest_string_a_format_accepts() -> None:
    charset = " -abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    # "AB1Z CDE" read greedily; the Z step also gives the digit 2 some weight
    steps = [{"A": 0.9}, {"": 0.9}, {"B": 0.9}, {"": 0.9}, {"1": 0.9}, {"": 0.9}, {"Z": 0.6, "2": 0.3},
             {"": 0.9}, {" ": 0.8}, {"C": 0.9}, {"": 0.9}, {"D": 0.9}, {"": 0.9}, {"E": 0.9}, {"": 0.9}]  # fmt: skip
    logp = fold_probabilities(_probabilities(steps, charset), charset)
    best = decode_plate(logp, formats_of(["GB"]))[0]
    assert best.compact == "AB12CDE" and best.format.key == "GB:current"
    assert 0.0 < best.confidence < 1.0 and best.penalty > 0.0
    # a repeated letter needs a blank between its two steps (the CTC rule): "AA" from one run is one A
    steps = [{"K": 0.9}, {"K": 0.9}, {"": 0.9}, {"A": 0.9}, {"": 0.9}, {"1": 0.9}, {"": 0.9}, {"2": 0.9}, {"": 0.9},
             {"3": 0.9}, {"4": 0.9}, {"": 0.9}, {"5": 0.9}]  # fmt: skip
    logp = fold_probabilities(_probabilities(steps, charset), charset)
    assert decode_plate(logp, formats_of(["PL"]))[0].compact == "KA12345"


def test_a_rendered_scene_holds_its_plate_where_the_truth_says() -> None:
    rng = np.random.default_rng(3)
    scene = render_plate_scene(rng, "AB12 CDE", "GB", "GB:current", photos=False)
    (truth,) = scene.plates
    assert truth.plate == "AB12CDE" and truth.display == "AB12 CDE" and truth.region == "GB"
    assert scene.image.shape == (480, 640, 3) and scene.image.dtype == np.uint8
    x0, y0, x1, y1 = truth.box
    assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
    assert 2.5 < (x1 - x0) / (y1 - y0) < 6.5  # an EU-shaped plate, tilted a little
    tx, ty = truth.text_quad[:, 0], truth.text_quad[:, 1]
    assert x0 - 1 <= tx.min() < tx.max() <= x1 + 1 and y0 - 1 <= ty.min() < ty.max() <= y1 + 1
    grey = cv2.cvtColor(scene.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = grey[int(ty.min()) : int(ty.max()), int(tx.min()) : int(tx.max())]
    assert inside.std() > 30  # dark characters on a light face
    again = render_plate_scene(np.random.default_rng(3), "AB12 CDE", "GB", "GB:current", photos=False)
    assert np.array_equal(again.image, scene.image)  # a seed fixes the scene


def test_score_image_counts_exact_reads_and_detections() -> None:
    from textlens.extract.plate import PlateReading

    truths = [{"plate": "AB12 CDE", "box": [100, 100, 200, 125]}, {"plate": "B-MW 1234", "box": [300, 50, 400, 72]}]
    predicted = [
        PlateReading("AB12 CDE", "AB12CDE", "GB", "GB:current", (102, 101, 201, 126), 0.9),
        PlateReading("B-MW 1284", "BMW1284", "DE", "DE:standard", (300, 50, 400, 72), 0.8),
        PlateReading("XY-123-ZZ", "XY123ZZ", "FR", "FR:siv", (10, 10, 60, 22), 0.6),
    ]
    counts = score_image(predicted, truths)
    assert counts == {"plates": 2, "exact": 1, "predicted": 3, "matched": 2}


@pytest.fixture(scope="module")
def clean_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean, large plate on a drawn street (no wallpapers needed)."""
    folder = tmp_path_factory.mktemp("plate")
    scene = render_plate_scene(np.random.default_rng(5), "BD51 SMR", "GB", "GB:current", photos=False, effects=False)
    path = folder / "car.png"
    cv2.imwrite(str(path), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    return path


def test_cli_reads_the_plate_of_a_generated_car(clean_plate: Path) -> None:
    result = CliRunner().invoke(app, ["extract", "plate", str(clean_plate), "-o", "-", "--threads", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["task"] == "plate"
    plates = data["plates"]
    assert plates and plates[0]["compact"] == "BD51SMR"
    assert plates[0]["region"] == "GB" and plates[0]["format"] == "GB:current"
    assert 0.5 <= plates[0]["confidence"] <= 1.0
    x0, y0, x1, y1 = plates[0]["box"]
    assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480


def test_cli_rejects_unknown_regions(clean_plate: Path) -> None:
    result = CliRunner().invoke(app, ["extract", "plate", str(clean_plate), "--regions", "XX"])
    assert result.exit_code == 2
    assert "no plate formats" in result.output


def test_eval_on_a_tiny_manifest(tmp_path: Path) -> None:
    from textlens.extract.plate_synth import write_plate_set

    manifest = write_plate_set(tmp_path / "set", 2, seed=7, photos=False)
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(records) == 2 and all((tmp_path / "set" / r["image"]).is_file() for r in records)
    args = ["eval", "extract", "--task", "plate", "--manifest", str(manifest), "--json", "--threads", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["task"] == "plate" and values["count"] == 2 and values["plates"] == 2
    for key in ("exact", "detection_precision", "detection_recall", "detection_f1"):
        assert 0.0 <= values[key] <= 1.0
    assert values["s_per_page"] > 0 and "extra_s_per_page" in values


def test_plate_extractor_reads_a_documents_pages(clean_plate: Path) -> None:
    from textlens.extract.plate import PlateExtractor
    from textlens.pipeline import OCR

    document = OCR(threads=1).read(clean_plate)
    result = PlateExtractor().extract(document)
    assert result.task == "plate"
    assert result.fields["plate"].raw == "BD51SMR" and result.fields["plate"].value == "BD51 SMR"
    assert [p["compact"] for p in result.metadata["plates"]] == ["BD51SMR"]
