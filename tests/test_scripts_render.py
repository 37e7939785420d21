"""Devanagari goes through the shaping engine (Pillow's RAQM layout: HarfBuzz), Hangul through the glyph cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, features

from textlens.data.synth.render import GLYPHS, draw_text, text_width
from textlens.errors import ConfigError

NOTO_DEVANAGARI = Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf")  # fonts-noto-core
NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")  # fonts-nanum

pytestmark = pytest.mark.skipif(not features.check("raqm"), reason="Pillow built without libraqm")


def _font(path: Path, size: int = 40) -> ImageFont.FreeTypeFont:
    if not path.is_file():
        pytest.skip(f"{path} is not installed (make system-deps)")
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _draw(text: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    canvas = Image.new("L", (int(text_width(font, text, 0.0)) + 60, 100), 0)
    draw_text(canvas, (20, 20), text, font, 0.0, 0)
    return np.asarray(canvas)


def _glyph_by_glyph(text: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    """The glyph cache's drawing (one code point after the other), which is what shaping must replace."""
    canvas = Image.new("L", (int(sum(font.getlength(c) for c in text)) + 60, 100), 0)
    x = 20.0
    for ch in text:
        mask, dx, dy, advance = GLYPHS.get(font, ch, 0)
        if mask is not None:
            canvas.paste(255, (round(x) + dx, 20 + dy), mask)
        x += advance
    return np.asarray(canvas)


def _ink_columns(image: np.ndarray) -> tuple[int, int]:
    cols = np.nonzero((image > 127).any(axis=0))[0]
    return int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("word", ["क्ष", "त्र", "क्षत्रिय", "विद्यालय"])
def test_conjunct_words_are_shaped_not_drawn_letter_by_letter(word: str) -> None:
    font = _font(NOTO_DEVANAGARI)
    shaped, letters = _draw(word, font), _glyph_by_glyph(word, font)
    # the virama joins the consonants into one conjunct: the shaped word is narrower than its letters in a row
    assert text_width(font, word, 0.0) < 0.9 * sum(font.getlength(c) for c in word)
    w = min(shaped.shape[1], letters.shape[1])
    differing = np.mean((shaped[:, :w] > 127) != (letters[:, :w] > 127))
    assert differing > 0.01


def test_draw_text_gives_pillows_raqm_rendering_exactly() -> None:
    font = _font(NOTO_DEVANAGARI)
    word = "क्षत्रिय किताब"
    ours = _draw(word, font)
    raqm = ImageFont.truetype(str(NOTO_DEVANAGARI), 40, layout_engine=ImageFont.Layout.RAQM)
    reference = Image.new("L", (ours.shape[1], ours.shape[0]), 0)
    ImageDraw.Draw(reference).text((20, 20), word, font=raqm, fill=255, anchor="la")
    assert np.array_equal(ours, np.asarray(reference))
    assert text_width(font, word, 0.0) == pytest.approx(raqm.getlength(word))


def _offset_of(template_text: str, image: np.ndarray, font: ImageFont.FreeTypeFont) -> int:
    """Where the ink of ``template_text`` (drawn alone at the same origin) matches best in ``image``, as a shift in
    pixels from where it lies when drawn alone."""
    alone = _draw(template_text, font)
    x0, x1 = _ink_columns(alone)
    ys = np.nonzero((alone > 127).any(axis=1))[0]
    template = alone[ys[0] : ys[-1] + 1, x0 : x1 + 1].astype(np.float32)
    scores = cv2.matchTemplate(image.astype(np.float32), template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, _by) = cv2.minMaxLoc(scores)
    assert best > 0.8
    return bx - x0


def test_i_matra_is_drawn_before_its_consonant() -> None:
    """कि is stored consonant first, but the short-i sign is written on its left: the consonant's ink moves right
    by the sign's width, and the sign's stem is inked left of the consonant."""
    font = _font(NOTO_DEVANAGARI)
    ki = _draw("कि", font)
    shift = _offset_of("क", ki, font)
    assert shift > 5  # the i-matra's width at 40 px
    consonant_starts = _ink_columns(_draw("क", font))[0] + shift  # where the consonant's ink begins in कि
    assert (ki[:, :consonant_starts] > 127).sum() > 40  # the sign's stem, left of the consonant
    # glyph by glyph, the sign would follow the consonant (the cache's exactness is only for such scripts)
    assert _offset_of("क", _glyph_by_glyph("कि", font), font) == 0


def test_hangul_stays_on_the_glyph_cache_and_matches_pillow() -> None:
    font = _font(NANUM_GOTHIC)
    word = "한국어 문서 2024"
    ours = _draw(word, font)
    reference = Image.new("L", (ours.shape[1], ours.shape[0]), 0)
    ImageDraw.Draw(reference).text((20, 20), word, font=font, fill=255, anchor="la")
    assert np.array_equal(ours, np.asarray(reference))
    assert (str(font.path), 40, "한", 0) in GLYPHS._glyphs


def test_devanagari_bypasses_the_glyph_cache() -> None:
    font = _font(NOTO_DEVANAGARI, 37)
    _draw("नमस्ते", font)
    assert not any(key[0] == str(font.path) and key[1] == 37 for key in GLYPHS._glyphs)


def test_rendered_hindi_and_korean_lines() -> None:
    from textlens.data.synth.lines import LineRenderer

    for langs in (("hi",), ("ko",)):
        try:
            renderer = LineRenderer(preset="scan", langs=langs, height=32, seed=0)
        except ConfigError as exc:  # word lists or fonts missing: make lang-deps / system-deps
            pytest.skip(str(exc))
        texts = set()
        for i in range(6):
            sample = renderer.sample_at(i)
            assert sample.image.shape[0] == 32 and sample.image.dtype == np.uint8 and sample.text
            assert set(sample.text) <= set(renderer.charset) | {" "}
            assert Path(sample.source.rsplit(":", 1)[-1]).suffix in {".ttf", ".otf"}
            texts.add(sample.text)
        assert len(texts) >= 5
