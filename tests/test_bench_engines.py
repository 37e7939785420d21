"""The benchmark's textlens engines: the detector variant reads pages and declines crop sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.peers import ENGINES, engine_module
from textlens.errors import ModelError

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample.png"


def test_every_listed_engine_module_has_the_adapter_interface() -> None:
    for name in ENGINES:
        module = engine_module(name)
        for attribute in ("NAME", "CONFIG", "unavailable", "version", "recognizer", "page_reader"):
            assert hasattr(module, attribute), f"{name} lacks {attribute}"
        assert name == module.NAME


def test_the_morph_lines_engine_reads_a_page_with_the_classical_detector() -> None:
    module = engine_module("textlens-morph_lines")
    assert module.unavailable() is None
    with pytest.raises(ModelError, match="page sets only"):
        module.recognizer("word", 1)
    lines = module.page_reader(1)(np.asarray(Image.open(SAMPLE).convert("RGB")))
    words = [word.text for line in lines for word in line.words]
    assert "Lovelace" in words and "Notebook" in words
    assert all(line.box[2] > line.box[0] and line.box[3] > line.box[1] for line in lines)
