"""Every kind of bad input raises its specific textlens error, naming the file and the problem."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from PIL import ImageFile

from tests.bad_inputs import (
    bad_input_names,
    encode,
    encrypted_pdf,
    make_bad_corpus,
    page_image,
    pdf_without_pages,
)
from textlens.errors import (
    CorruptImage,
    EmptyDocument,
    EncryptedDocument,
    FileNotFound,
    ImageTooLarge,
    InputError,
    UnreadableFile,
)
from textlens.io import load


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, type[InputError]]]:
    folder = tmp_path_factory.mktemp("bad")
    return {path.name: (path, error) for path, error in make_bad_corpus(folder)}


def test_corpus_has_at_least_twenty_kinds_of_bad_input(
    corpus: dict[str, tuple[Path, type[InputError]]],
) -> None:
    assert len(corpus) >= 20
    assert len({error for _, error in corpus.values()}) >= 8


@pytest.mark.parametrize("name", bad_input_names())
def test_bad_input_raises_its_specific_error_naming_the_file(
    corpus: dict[str, tuple[Path, type[InputError]]],
    name: str,
) -> None:
    path, expected = corpus[name]
    with pytest.raises(InputError) as caught:
        load(path)
    assert type(caught.value) is expected, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: ") and len(caught.value.problem) > 5


@pytest.mark.parametrize("name", ["bomb_40000.png", "bomb.bmp", "bomb.tif", "bomb.jpg", "huge_page.pdf"])
def test_bombs_are_refused_from_the_header_without_decoding(
    corpus: dict[str, tuple[Path, type[InputError]]],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    for owner in (ImageFile.ImageFile, pypdfium2.PdfPage):
        method = "load" if owner is ImageFile.ImageFile else "render"
        monkeypatch.setattr(owner, method, lambda *a, _m=method, **k: decoded.append(_m))
    path, _ = corpus[name]
    with pytest.raises(ImageTooLarge, match=r"\d+×\d+ = \d+ pixels exceeds the limit of \d+ \(set max_pix"):
        load(path)
    assert decoded == []


def test_40000_square_png_message_gives_its_size(corpus: dict[str, tuple[Path, type[InputError]]]) -> None:
    with pytest.raises(ImageTooLarge, match="40000×40000 = 1600000000 pixels"):
        load(corpus["bomb_40000.png"][0])


def test_unreadable_file_raises_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, who can read a chmod 000 file, so simulate the permission error.
    locked = tmp_path / "locked.png"
    locked.write_bytes(encode(page_image(), "PNG"))
    real_open = builtins.open

    def deny(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(UnreadableFile, match=r"locked\.png: cannot open the file: Permission denied"):
        load(locked)


def test_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound, match=r"nope\.jpg: no such file"):
        load(tmp_path / "nope.jpg")


def test_pdf_errors_do_not_depend_on_the_previous_file(tmp_path: Path) -> None:
    # PDFium keeps a global last-error code; an empty PDF sets none, so order must not matter.
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(pdf_without_pages())
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted_pdf())
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.5\n" + b"\x00garbage" * 50)
    expected = {empty: EmptyDocument, locked: EncryptedDocument, corrupt: CorruptImage}
    for order in ([locked, empty, corrupt, empty], [corrupt, empty, locked, corrupt]):
        for path in order:
            with pytest.raises(expected[path]):
                load(path)


def test_bytes_input_errors_name_bytes() -> None:
    with pytest.raises(CorruptImage, match="<bytes>: empty file"):
        load(b"")
