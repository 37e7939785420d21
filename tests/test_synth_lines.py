"""Tests for the synthetic line renderer: determinism, parallel generation, presets, charset and font
coverage."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.data.samples import CropSample
from textlens.data.synth import PRESET_NAMES, LineRenderer, generate, sample_rng
from textlens.data.synth.fonts import FontInfo, family_split, select_fonts
from textlens.data.synth.text import TextSampler, apply_case
from textlens.errors import ConfigError


@pytest.fixture(scope="module")
def renderer() -> LineRenderer:
    return LineRenderer(preset="mixed", height=32, seed=3)


def test_same_seed_gives_identical_samples(renderer: LineRenderer) -> None:
    a = renderer.sample(sample_rng(7, 0))
    b = LineRenderer(preset="mixed", height=32, seed=99).sample(sample_rng(7, 0))
    assert a.text == b.text
    assert np.array_equal(a.image, b.image)


def test_different_indices_give_different_samples(renderer: LineRenderer) -> None:
    texts = {renderer.sample_at(i).text for i in range(8)}
    assert len(texts) >= 6


def test_parallel_generation_equals_serial() -> None:
    serial = generate(6, seed=11, workers=1, preset="scene", height=32)
    parallel = generate(6, seed=11, workers=2, preset="scene", height=32)
    assert [s.text for s in serial] == [s.text for s in parallel]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(serial, parallel, strict=True))


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_preset_renders_rgb_uint8_of_requested_height(preset: str) -> None:
    r = LineRenderer(preset=preset, height=32, seed=1)
    for i in range(4):
        sample = r.sample_at(i)
        assert isinstance(sample, CropSample)
        assert sample.image.dtype == np.uint8
        assert sample.image.ndim == 3 and sample.image.shape[0] == 32 and sample.image.shape[2] == 3
        assert sample.image.shape[1] >= 4
        assert sample.text and sample.text == sample.text.strip()
        assert sample.image.std() > 2  # not a blank crop


def test_natural_height_when_height_is_none() -> None:
    heights = {LineRenderer(preset="scene", seed=0).sample_at(i).image.shape[0] for i in range(6)}
    assert len(heights) > 1


def test_text_stays_inside_a_restricted_charset() -> None:
    r = LineRenderer(preset="mixed", charset="0123456789.-", height=24, seed=5)
    for i in range(10):
        assert set(r.sample_at(i).text) <= set("0123456789.- ")


def test_render_picks_only_fonts_that_cover_the_text(renderer: LineRenderer) -> None:
    euro_less = [f for f in renderer.fonts if ord("€") not in f.codepoints]
    euro_ok = [f for f in renderer.fonts if ord("€") in f.codepoints]
    assert euro_ok, "the test needs at least one installed font with the euro sign"
    fonts = [f.path for f in (euro_less[:3] + euro_ok[:1])]
    r = LineRenderer(preset="scan", fonts=fonts, height=32, seed=0)
    for i in range(6):
        sample = r.render("12€", np.random.default_rng(i))
        assert sample.source is not None and sample.source.endswith(euro_ok[0].path.rsplit("/", 1)[1])


def test_render_raises_when_no_font_covers_the_text(renderer: LineRenderer) -> None:
    with pytest.raises(ConfigError, match="covers"):
        renderer.render("\u4e2d\u6587", np.random.default_rng(0))  # CJK: the renderer's Latin fonts lack it


def test_sampled_text_only_uses_glyphs_of_its_font() -> None:
    font = FontInfo(
        path="x",
        family="Tiny",
        style="Regular",
        monospace=False,
        category="sans",
        codepoints=frozenset(map(ord, "abcdef")),
    )
    sampler = TextSampler(mixture={"word": 1, "chars": 1, "price": 1})
    allowed = frozenset(c for c in sampler.charset if ord(c) in font.codepoints)
    for i in range(20):
        assert font.covers(sampler.sample(np.random.default_rng(i), allowed))


def test_font_split_is_by_family_and_disjoint() -> None:
    train, val = select_fonts("train"), select_fonts("val")
    assert {f.family for f in train}.isdisjoint({f.family for f in val})
    assert all(family_split(f.family) == "train" for f in train)


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown synthetic preset"):
        LineRenderer(preset="underwater")


def test_fonts_that_draw_lower_case_as_capitals_are_recognised() -> None:
    from PIL import ImageFont

    from textlens.data.synth.fonts import CAPS_ONLY_IOU, case_similarity, installed_fonts

    path = next(f.path for f in installed_fonts() if f.family == "DejaVu Sans" and f.style == "Book")
    font = ImageFont.truetype(path, 64)

    class CapitalsOnly:
        """A caps-only design: every letter is drawn as its capital."""

        def getmask(self, char: str) -> object:
            return font.getmask(char.upper())

    ordinary, capitals = case_similarity(font), case_similarity(CapitalsOnly())
    assert ordinary is not None and ordinary < CAPS_ONLY_IOU
    assert capitals == pytest.approx(1.0)


def test_caps_only_fonts_are_not_offered_to_the_renderer() -> None:
    from PIL import ImageFont

    from textlens.data.synth.fonts import CAPS_ONLY_IOU, case_similarity

    for font in select_fonts("all"):
        similarity = case_similarity(ImageFont.truetype(font.path, 64))
        assert similarity is None or similarity <= CAPS_ONLY_IOU, font.family


def test_receipt_lines_are_not_all_capitals() -> None:
    # All-capital receipt keywords taught the recogniser to read "Total" as "TOTAL".
    sampler = TextSampler(mixture={"receipt": 1.0}, max_chars=40)
    rng = np.random.default_rng(3)
    lines = [sampler.sample(rng) for _ in range(300)]
    lettered = [line for line in lines if sum(c.isalpha() for c in line) >= 3]
    upper = sum(line == line.upper() for line in lettered) / len(lettered)
    assert 0.4 < upper < 0.75
    assert any(word in line for line in lettered for word in ("Total", "Cash", "Change", "Subtotal", "total"))


def test_receipt_lines_keep_currency_codes_in_capitals_beside_lower_case_words() -> None:
    # Lines whose capitals always came with an all-capital line taught "Total due: EUR 40.30" → "TOTAL DUE: ...".
    sampler = TextSampler(mixture={"receipt": 1.0}, max_chars=40)
    rng = np.random.default_rng(5)
    lines = [sampler.sample(rng) for _ in range(2000)]
    words = [line.split() for line in lines if line != line.upper()]
    assert not any(w in ("Rm", "rm", "Eur", "eur", "Usd", "usd", "Gst", "gst") for ws in words for w in ws)
    assert any("RM" in ws or "EUR" in ws or "USD" in ws for ws in words)


def test_mixed_case_draws_a_case_per_word() -> None:
    rng = np.random.default_rng(0)
    text = " ".join(["total"] * 40)
    mixed = apply_case(text, "mixed", rng).split()
    assert {"total", "Total", "TOTAL"} == set(mixed)
    with pytest.raises(ValueError, match="rng"):
        apply_case(text, "mixed")
    assert apply_case("total due", "title") == "Total Due"


def test_sampled_text_is_drawn_in_a_font_that_has_all_its_letters() -> None:
    # Many fonts lack some of latin_ext (Romanian ș ț, Polish ł, Hungarian ő): the renderer must pick a font for
    # the text, not cut letters out of the text to suit the font (that teaches misspelt words).
    renderer = LineRenderer(preset="print", charset="latin_ext", height=32, seed=5)
    letters = "ŧĕĭŏĩũċġŋŵŷțȚ′″№"
    pool = [a + b + c for a in letters for b in letters for c in letters][:2000]
    sampler = TextSampler(renderer.charset, mixture={"word": 1}, case_mix={"keep": 1}, words=pool)
    renderer.samplers = {name: sampler for name in renderer.samplers}
    by_file = {f.path.rsplit("/", 1)[-1]: f for f in renderer.fonts}
    known = set(pool)
    for i in range(60):
        sample = renderer.sample_at(i)
        assert sample.text in known, sample.text
        assert by_file[sample.source.rsplit(":", 1)[-1]].covers(sample.text)


def test_command_source_writes_options_paths_and_file_names() -> None:
    sampler = TextSampler(mixture={"command": 1})
    texts = [sampler.sample(np.random.default_rng(i)) for i in range(200)]
    assert all(set(t) <= sampler.allowed for t in texts)
    assert sum(t.startswith("--") for t in texts) >= 10
    assert sum("/" in t for t in texts) >= 10
    assert sum("." in t or "_" in t for t in texts) >= 20
