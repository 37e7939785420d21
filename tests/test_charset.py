"""Charsets and tokenizers shared by every recogniser."""

from __future__ import annotations

import pytest

from textlens.data.charset import LATIN, AttentionTokenizer, Charset, CTCTokenizer
from textlens.errors import ConfigError


def test_latin_charset_has_the_94_printable_ascii_characters_space_and_symbols() -> None:
    charset = Charset.from_spec("latin")
    assert charset.chars[0] == " "
    assert all(chr(c) in charset for c in range(33, 127))
    assert "€" in charset and "£" in charset and "°" in charset
    assert len(charset) == 1 + len(LATIN)


def test_ctc_encode_decode_and_collapse() -> None:
    tok = CTCTokenizer(Charset("abc"))
    ids = tok.encode("cab a")
    assert tok.decode_ids(ids) == "cab a"
    a, b = tok.index["a"], tok.index["b"]
    assert tok.decode_ids(tok.collapse([a, a, 0, a, b, b, 0, 0])) == "aab"
    with pytest.raises(ConfigError, match="outside the charset"):
        tok.encode("abz")


def test_attention_tokens_pad_and_stop_at_eos() -> None:
    tok = AttentionTokenizer(Charset("xy"))
    ids = tok.encode("xy", max_len=4)
    assert ids[0] == tok.sos and ids[3] == tok.eos and ids[-1] == tok.pad and len(ids) == 6
    assert tok.decode_ids(ids[1:]) == "xy"


def test_filter_drops_characters_outside_the_charset_after_nfc() -> None:
    charset = Charset.from_spec("ascii")
    assert charset.filter("Cafe\u0301 ok") == "Caf ok"
