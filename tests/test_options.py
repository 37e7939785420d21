"""KEY=VALUE options (``--opt``, ``--model-option``): one parser for every command."""

from __future__ import annotations

import pytest

from textlens.errors import ConfigError
from textlens.options import option_value, parse_options, split_option


def test_parse_options_converts_numbers_json_and_keeps_bare_words() -> None:
    pairs = ["split=test", "margin=0.2", "n=3", "glimpse_channels=[16, 32]", "cell=lstm", "small=.5"]
    assert parse_options(pairs) == {
        "split": "test",
        "margin": 0.2,
        "n": 3,
        "glimpse_channels": [16, 32],
        "cell": "lstm",
        "small": 0.5,
    }


def test_keys_become_keyword_names_and_later_pairs_win() -> None:
    assert parse_options(["gt-dir = a/b", "n=1", "n=2"]) == {"gt_dir": "a/b", "n": 2}


@pytest.mark.parametrize("item", ["hidden", "=3", " =x"])
def test_an_item_without_key_and_value_is_a_usage_error_naming_the_option(item: str) -> None:
    with pytest.raises(ConfigError, match="--model-option expects KEY=VALUE"):
        parse_options([item], "--model-option")


def test_split_option_keeps_the_value_as_text() -> None:
    assert split_option("weight = 2") == ("weight", "2")
    assert option_value("path/to/x.json") == "path/to/x.json"
