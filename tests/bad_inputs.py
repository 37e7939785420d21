"""Generators of good and bad input files, shared by the loader tests and the CLI batch tests.

``make_bad_corpus(folder)`` writes one file (or folder, or missing path) per way an input can be
wrong and returns it with the textlens error it must raise; ``make_good_images(folder)`` writes
one small readable file per supported format.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from textlens.errors import (
    CorruptImage,
    EmptyDocument,
    EncryptedDocument,
    FileNotFound,
    ImageTooLarge,
    ImageTooSmall,
    InputError,
    NotAFile,
    UnreadableFile,
    UnsupportedFormat,
)


def page_image(width: int = 120, height: int = 80, seed: int = 0) -> Image.Image:
    """A small RGB 'page': white with a few dark bars and a word, deterministic per seed."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(im)
    for row in range(3):
        y = 10 + row * (height // 4)
        length = int(rng.integers(width // 3, width - 10))
        draw.rectangle([5, y, 5 + length, y + 4], fill=(20, 20, 20))
    draw.text((5, height - 15), "text", fill=(0, 0, 160))
    return im


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    """``im`` saved in ``fmt`` (a Pillow format name) as bytes."""
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


# ---------------------------------------------------------------- hand-built files


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose header says ``width``×``height`` but whose pixel data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_with_bad_header_crc() -> bytes:
    data = bytearray(encode(page_image(), "PNG"))
    data[29] ^= 0xFF  # the last byte of IHDR's CRC (8 signature + 4 length + 4 type + 13 data)
    return bytes(data)


def bmp_claiming_size(width: int, height: int) -> bytes:
    """A 24-bit BMP header announcing ``width``×``height`` followed by almost no pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + 64, 0, 0, 14 + len(info))
    return header + info + b"\x00" * 64


def tiff_claiming_size(width: int, height: int) -> bytes:
    """A little-endian 8-bit gray TIFF announcing ``width``×``height`` with a one-byte strip."""
    entries = [  # (tag, type, count, value); type 3 = SHORT, 4 = LONG
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 1),
    ]
    ifd_offset = 8 + 1
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", ifd_offset) + b"\x00" + ifd + struct.pack("<I", 0)


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 header is patched to announce ``width``×``height``."""
    data = bytearray(encode(page_image(), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_zero_size() -> bytes:
    """A GIF whose screen and only frame are 0×0 pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 0, 0, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 0, 0, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def minimal_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF made of ``objects`` (object 1 must be the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n" % (len(objects) + 1, trailer, xref)
    return bytes(out) + b"%%EOF\n"


def pdf_with_page(media_box: tuple[float, float, float, float] = (0, 0, 612, 792)) -> bytes:
    """A one-page PDF with an empty page of the given MediaBox (in points)."""
    box = b" ".join(b"%g" % v for v in media_box)
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] >>" % box,
        ]
    )


def pdf_without_pages() -> bytes:
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
        ]
    )


def encrypted_pdf() -> bytes:
    """A PDF with a Standard security handler whose user password is not empty.

    The /U entry does not match the empty password, so a reader needs a password to open it:
    exactly what a password-protected PDF looks like to PDFium.
    """
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <" + b"a1" * 32 + b"> /U <" + b"5c" * 32 + b"> >>"
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            encrypt,
        ],
        trailer=b"/Encrypt 4 0 R /ID [<" + b"0f" * 16 + b"> <" + b"0f" * 16 + b">]",
    )


def multipage_pdf(pages: list[Image.Image], resolution: float = 72.0) -> bytes:
    """A PDF with one page per image (Pillow's writer: 1 image pixel = 72/resolution points)."""
    return encode(pages[0], "PDF", save_all=True, append_images=pages[1:], resolution=resolution)


# ---------------------------------------------------------------- corpora


def _truncated(fmt: str, keep: float = 0.5, **options: object) -> Callable[[], bytes]:
    def build() -> bytes:
        data = encode(page_image(200, 160), fmt, **options)
        return data[: int(len(data) * keep)]

    return build


_HTML = b"<!DOCTYPE html>\n<html><head><title>scan</title></head><body><img src='a.png'></body></html>\n"
_SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n'

# file name -> (bytes builder, expected error)
_BAD_FILES: dict[str, tuple[Callable[[], bytes], type[InputError]]] = {
    "empty.png": (lambda: b"", CorruptImage),
    "truncated.png": (_truncated("PNG"), CorruptImage),
    "truncated.jpg": (_truncated("JPEG", quality=90), CorruptImage),
    "truncated.webp": (_truncated("WEBP", quality=90), CorruptImage),
    "truncated.gif": (_truncated("GIF"), CorruptImage),
    "truncated.tif": (_truncated("TIFF", keep=0.6), CorruptImage),
    "signature_only.png": (lambda: b"\x89PNG\r\n\x1a\n" + b"\x13" * 40, CorruptImage),
    "jpeg_marker_then_garbage.jpg": (lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, CorruptImage),
    "bad_crc.png": (png_with_bad_header_crc, CorruptImage),
    "text_renamed.png": (lambda: b"Meeting notes\nbuy milk\n" * 20, UnsupportedFormat),
    "notes.txt": (lambda: "Plain text, not an image: été\n".encode(), UnsupportedFormat),
    "page.html": (lambda: _HTML, UnsupportedFormat),
    "drawing.svg": (lambda: _SVG, UnsupportedFormat),
    "random.bin": (
        lambda: np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        UnsupportedFormat,
    ),
    "archive_renamed.jpg": (lambda: b"PK\x03\x04" + b"\x00" * 100, UnsupportedFormat),
    "garbage.pdf": (lambda: b"this is not a PDF at all" * 10, UnsupportedFormat),
    "one_pixel.png": (lambda: encode(Image.new("RGB", (1, 1), "white"), "PNG"), ImageTooSmall),
    "thin_strip.png": (lambda: encode(Image.new("L", (500, 2), 255), "PNG"), ImageTooSmall),
    "zero_size.gif": (gif_zero_size, CorruptImage),
    "bomb_40000.png": (lambda: png_claiming_size(40000, 40000), ImageTooLarge),
    "bomb.bmp": (lambda: bmp_claiming_size(50000, 50000), ImageTooLarge),
    "bomb.tif": (lambda: tiff_claiming_size(60000, 60000), ImageTooLarge),
    "bomb.jpg": (lambda: jpeg_claiming_size(65000, 65000), ImageTooLarge),
    "huge_page.pdf": (lambda: pdf_with_page((0, 0, 14400, 14400)), ImageTooLarge),
    "tiny_page.pdf": (lambda: pdf_with_page((0, 0, 0.5, 0.5)), ImageTooSmall),
    "encrypted.pdf": (encrypted_pdf, EncryptedDocument),
    "no_pages.pdf": (pdf_without_pages, EmptyDocument),
    "corrupt.pdf": (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8, CorruptImage),
    "truncated.pdf": (lambda: multipage_pdf([page_image()])[:150], CorruptImage),
}


def _special_paths() -> list[tuple[str, type[InputError]]]:
    """Bad inputs that are not files with bad bytes (which of them this system can make)."""
    special: list[tuple[str, type[InputError]]] = [
        ("a_folder.png", NotAFile),
        ("missing.png", FileNotFound),
        ("broken_link.png", FileNotFound),
    ]
    if hasattr(os, "mkfifo"):
        special.append(("pipe.png", NotAFile))
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root can read anything
        special.append(("locked.png", UnreadableFile))
    return special


def bad_input_names() -> list[str]:
    """The names ``make_bad_corpus`` creates, e.g. to parametrize tests before it runs."""
    return [*_BAD_FILES, *(name for name, _ in _special_paths())]


def make_bad_corpus(folder: str | os.PathLike[str]) -> list[tuple[Path, type[InputError]]]:
    """Write every bad input into ``folder``; returns ``(path, expected error class)`` pairs.

    Besides files with bad bytes: a folder, a missing path, a broken symlink, a FIFO and (when
    not running as root) a file without read permission.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus: list[tuple[Path, type[InputError]]] = []
    for name, (build, error) in _BAD_FILES.items():
        path = folder / name
        path.write_bytes(build())
        corpus.append((path, error))
    for name, error in _special_paths():
        path = folder / name
        _make_special(path)
        corpus.append((path, error))
    return corpus


def _make_special(path: Path) -> None:
    if path.name == "a_folder.png":
        path.mkdir(exist_ok=True)
    elif path.name == "broken_link.png" and not path.is_symlink():
        path.symlink_to(path.with_name("nowhere.png"))
    elif path.name == "pipe.png" and not path.exists():
        os.mkfifo(path)
    elif path.name == "locked.png":
        path.write_bytes(encode(page_image(), "PNG"))
        path.chmod(0)


def make_good_images(folder: str | os.PathLike[str]) -> list[Path]:
    """One small readable input per supported format (PNG, JPEG, TIFF, BMP, WebP, GIF, PDF)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    page = page_image()
    files = {
        "page.png": encode(page, "PNG"),
        "page.jpg": encode(page, "JPEG", quality=92),
        "page.tif": encode(page, "TIFF"),
        "page.bmp": encode(page, "BMP"),
        "page.webp": encode(page, "WEBP", lossless=True),
        "page.gif": encode(page, "GIF"),
        "page.pdf": multipage_pdf([page]),
    }
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
