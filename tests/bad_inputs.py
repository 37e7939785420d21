"""Generators of good, bad and hostile input files, shared by the loader tests, the CLI batch tests,
tests/test_reliability_corpus.py and bench/reliability.py.

``make_bad_corpus(folder)`` writes one file (or folder, or missing path) per way an input can be
wrong - damaged files, then hostile ones: decompression bombs, self-referencing PDFs, page counts
over the limit, polyglots, a sparse 1 GiB file, special files - and returns each with the textlens
error it must raise. ``make_readable_hostile(folder)`` writes hostile files that must still be read,
and ``make_good_images(folder)`` one small readable file per supported format. Every file is built
by code in well under a second and is small on disk (the sparse file only looks large).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import sys
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


# ---------------------------------------------------------------- hostile files
#
# Files made to hurt a reader rather than merely damaged: decompression bombs, self-referencing PDF
# structures, page counts past the limit, polyglots. Each is small on disk (a sparse file excepted)
# and built in well under a second.


def deflate_zeros(size: int, chunk: int = 1 << 24) -> bytes:
    """A zlib stream that inflates to ``size`` zero bytes (a multiple of ``chunk``), built in milliseconds.

    A full flush resets the compressor, so after the first chunk every chunk of zeros compresses to the
    same bytes: one is compressed and repeated. The Adler-32 of n zeros is simply (n mod 65521, 1).
    """
    if size % chunk:
        raise ValueError("size must be a multiple of chunk")
    zeros = bytes(chunk)
    compressor = zlib.compressobj(9)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]  # the final empty block, without the checksum of two chunks only
    return first + repeat * (size // chunk - 1) + end + struct.pack(">I", ((size % 65521) << 16) | 1)


def pdf_stream(data: bytes, entries: bytes = b"") -> bytes:
    """A PDF stream object body holding ``data``."""
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def pdf_drawing(content: bytes, resources: bytes = b"<< >>", extra: list[bytes] | None = None) -> bytes:
    """A one-page PDF whose page draws ``content`` with ``resources``; ``extra`` objects are numbered from 5."""
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents 4 0 R >>" % resources,
            pdf_stream(content),
            *(extra or []),
        ]
    )


def _form(content: bytes, resources: bytes = b"<< >>") -> bytes:
    return pdf_stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources %s" % resources)


def pdf_form_drawing_itself() -> bytes:
    """A Form XObject whose resources name itself and whose content draws itself twice (2^depth draws)."""
    return pdf_drawing(
        b"/X Do", b"<< /XObject << /X 5 0 R >> >>", [_form(b"/X Do /X Do", b"<< /XObject << /X 5 0 R >> >>")]
    )


def pdf_nested_forms(depth: int, draws: int = 1) -> bytes:
    """A chain of ``depth`` forms, each drawing the next ``draws`` times; the last one draws a bar."""
    forms = []
    for level in range(depth):
        number = 5 + level
        if level == depth - 1:
            forms.append(_form(b"0 g 10 10 100 5 re f"))
        else:
            call = b" ".join([b"/F Do"] * draws)
            forms.append(_form(call, b"<< /XObject << /F %d 0 R >> >>" % (number + 1)))
    return pdf_drawing(b"/F Do", b"<< /XObject << /F 5 0 R >> >>", forms)


def pdf_page_tree(pages_node: bytes, *more: bytes) -> bytes:
    """A PDF with the page tree root ``pages_node`` (object 2) and further objects from 3."""
    return minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", pages_node, *more])


def pdf_many_pages(count: int) -> bytes:
    """``count`` empty 200×200 pt pages sharing one inherited MediaBox: about 80 bytes a page."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    pages = [b"<< /Type /Page /Parent 2 0 R >>"] * count
    return pdf_page_tree(b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 200 200] >>" % (kids, count), *pages)


def pdf_with_image(
    width: int, height: int, data: bytes, entries: bytes = b"/ColorSpace /DeviceRGB /BitsPerComponent 8"
) -> bytes:
    """A page drawing an image XObject that claims ``width``×``height`` over the whole page."""
    image = pdf_stream(
        data, b"/Type /XObject /Subtype /Image /Width %d /Height %d %s /Filter /FlateDecode" % (width, height, entries)
    )
    return pdf_drawing(b"q 612 0 0 792 0 0 cm /Im Do Q", b"<< /XObject << /Im 5 0 R >> >>", [image])


def pdf_flate_bomb(size: int = 1 << 30) -> bytes:
    """A page whose content stream inflates to ``size`` bytes of zeros (about 1 MB on disk for 1 GiB)."""
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            pdf_stream(deflate_zeros(size), b"/Filter /FlateDecode"),
        ]
    )


def pdf_xref_prev_loop() -> bytes:
    """A PDF whose trailer's /Prev points back at its own cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    xref = minimal_pdf(objects).rindex(b"xref\n")
    return minimal_pdf(objects, trailer=b"/Prev %d" % xref)


def pdf_deep_nesting(depth: int = 100_000) -> bytes:
    """A page dictionary holding an array nested ``depth`` levels deep (a recursive parser's stack)."""
    nested = b"[" * depth + b"]" * depth
    return pdf_page_tree(
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Junk %s >>" % nested,
    )


def pdf_with_actions(marker: str) -> bytes:
    """A readable page with JavaScript on open, a /Launch action and a /URI link: none may run or fetch.

    The launch action would create ``marker``; the script and the link point at a host that cannot resolve
    (``.invalid``). A test checks that the marker never appears.
    """
    url = b"http://textlens-must-not-fetch.invalid"
    js = b"app.launchURL('%s/js'); this.exportDataObject({cName: 'x', nLaunch: 2});" % url
    launch = b"<< /Type /Action /S /Launch /F (/usr/bin/touch) /Unix (/usr/bin/touch %s) >>" % marker.encode()
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript << /Names [(a) 5 0 R] >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Annots [6 0 R 7 0 R]"
            b" /AA << /O 8 0 R >> /Resources %s >>" % font,
            pdf_stream(b"BT /F1 24 Tf 20 100 Td (Hello actions) Tj ET 0 g 20 60 200 6 re f"),
            b"<< /Type /Action /S /JavaScript /JS (%s) >>" % js,
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 300 200] /A << /S /URI /URI (%s/uri) >> >>" % url,
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A %s >>" % launch,
            launch,
        ]
    )


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """A real small PNG with one extra ancillary chunk right after its header."""
    png = encode(page_image(), "PNG")
    after_ihdr = 8 + 25  # signature, then IHDR: length, type, 13 bytes, CRC
    return png[:after_ihdr] + png_chunk(kind, data) + png[after_ihdr:]


def png_white(side: int) -> bytes:
    """A real, fully decodable all-white gray PNG of ``side``×``side`` pixels (compresses ~850:1)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * side  # filter byte 0, then the pixels
    rows_per_piece = max(1, (1 << 24) // len(row))
    pieces = []
    for start in range(0, side, rows_per_piece):
        pieces.append(compressor.compress(row * min(rows_per_piece, side - start)))
    idat = b"".join(pieces) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def webp_claiming_size(width: int, height: int) -> bytes:
    """A real small lossless WebP whose VP8L header is patched to announce ``width``×``height`` (≤ 16384)."""
    data = bytearray(encode(page_image(), "WEBP", lossless=True))
    header = data.index(b"VP8L") + 8 + 1  # chunk type, chunk size, then the 0x2f signature byte
    bits = int.from_bytes(data[header : header + 4], "little")
    bits = (bits & ~0xFFFFFFF) | (width - 1) | ((height - 1) << 14)  # 14 bits each, then alpha and version
    data[header : header + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def gif_claiming_size(width: int, height: int) -> bytes:
    """A GIF whose logical screen is ``width``×``height`` around one 1×1 frame."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def tiff_chain(pages: int, loop_to: int | None = None) -> bytes:
    """A TIFF of ``pages`` 8×8 gray pages sharing one strip (114 bytes a page); with ``loop_to``, the last
    page's next-IFD offset points back at that page."""
    tags = [(256, 8), (257, 8), (258, 8), (259, 1), (262, 1), (273, 8), (277, 1), (278, 8), (279, 64)]
    ifd_size = 2 + len(tags) * 12 + 4
    first = 8 + 64  # the 64-byte strip sits between the header and the first IFD
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + b"\x80" * 64)
    for page in range(pages):
        if page < pages - 1:
            following = first + (page + 1) * ifd_size
        else:
            following = 0 if loop_to is None else first + loop_to * ifd_size
        out += struct.pack("<H", len(tags))
        out += b"".join(struct.pack("<HHII", tag, 4, 1, value) for tag, value in tags)  # type 4: LONG
        out += struct.pack("<I", following)
    return bytes(out)


def tiff_patched(**tags: int) -> bytes:
    """A valid one-page 100×100 gray TIFF (hand-built) with some tag values replaced, e.g. a huge strip length."""
    values = {256: 100, 257: 100, 258: 8, 259: 1, 262: 1, 273: 8, 277: 1, 278: 100, 279: 10000}
    names = {"width": 256, "height": 257, "bits": 258, "compression": 259, "strip_bytes": 279, "strip_offset": 273}
    for name, value in tags.items():
        values[names[name]] = value
    ifd = struct.pack("<H", len(values))
    for tag, value in sorted(values.items()):
        ifd += struct.pack("<HHII", tag, 4, 1, value)
    pixels = b"\x80" * 10000
    return b"II*\x00" + struct.pack("<I", 8 + len(pixels)) + pixels + ifd + struct.pack("<I", 0)


def bigtiff_claiming_size(width: int, height: int) -> bytes:
    """A BigTIFF (64-bit offsets) announcing ``width``×``height`` with an 8-byte strip."""
    values = [(256, width), (257, height), (258, 8), (259, 1), (262, 1), (273, 16), (277, 1), (278, height), (279, 8)]
    ifd = struct.pack("<Q", len(values))
    for tag, value in values:
        ifd += struct.pack("<HHQQ", tag, 16, 1, value)  # type 16 = LONG8
    return b"II+\x00" + struct.pack("<HHQ", 8, 0, 24) + b"\x80" * 8 + ifd + struct.pack("<Q", 0)


def progressive_jpeg_claiming_size(width: int, height: int) -> bytes:
    """A progressive JPEG patched to announce ``width``×``height``: the decoder must buffer every coefficient."""
    data = bytearray(encode(page_image(), "JPEG", quality=80, progressive=True))
    sof = data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bmp_rle_claiming_size(width: int, height: int) -> bytes:
    """An 8-bit RLE BMP announcing ``width``×``height`` whose pixel data ends after two runs."""
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    pixels = b"\x10\x00\x10\xff\x00\x01"  # two runs of 16, then end of bitmap
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def gif_lzw_claiming_size(width: int, height: int) -> bytes:
    """A GIF whose one frame covers ``width``×``height`` but whose LZW data holds a few pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


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

_ZTXT_BOMB = b"Comment\x00\x00"  # keyword, separator, compression method 0 (deflate)
_ICCP_NAME = b"sRGB\x00\x00"

# Hostile files: made to exhaust time or memory, or to confuse format detection. The expected errors
# were found by loading each one (textlens.io.load and `textlens read`); none takes more than a few
# seconds or more than the PDF renderer's memory cap.
_HOSTILE_FILES: dict[str, tuple[Callable[[], bytes], type[InputError]]] = {
    # PDF structures that loop, recurse or claim too much. The self-drawing forms and the flate bomb make
    # PDFium allocate until the renderer's address-space cap, where it aborts (SIGABRT) within seconds:
    # the page fails, the batch goes on.
    "form_draws_itself_twice.pdf": (pdf_form_drawing_itself, CorruptImage),
    "nested_forms_doubling.pdf": (lambda: pdf_nested_forms(40, draws=2), CorruptImage),
    "kids_loop_to_itself.pdf": (lambda: pdf_page_tree(b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"), CorruptImage),
    "count_one_million.pdf": (
        lambda: pdf_page_tree(
            b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ),
        ImageTooLarge,
    ),
    "pages_2100.pdf": (lambda: pdf_many_pages(2100), ImageTooLarge),
    "flate_bomb_1gib.pdf": (pdf_flate_bomb, CorruptImage),
    "empty.pdf": (lambda: b"", CorruptImage),
    "header_only.pdf": (lambda: b"%PDF-", CorruptImage),
    "header_and_eof_only.pdf": (lambda: b"%PDF-1.7\n%%EOF\n", CorruptImage),
    # raster bombs: refused from the header
    "claims_12000x12000.jpg": (lambda: jpeg_claiming_size(12000, 12000), ImageTooLarge),
    "white_13000x13000.png": (lambda: png_white(13000), ImageTooLarge),
    "claims_7800x7800.png": (lambda: png_claiming_size(7800, 7800), ImageTooLarge),
    "claims_2g_wide.png": (lambda: png_claiming_size(2**31 - 1, 1), ImageTooLarge),
    "claims_0x0.png": (lambda: png_claiming_size(0, 0), CorruptImage),
    "claims_16384x16384.webp": (lambda: webp_claiming_size(16384, 16384), ImageTooLarge),
    "claims_9000x9000.webp": (lambda: webp_claiming_size(9000, 9000), ImageTooLarge),
    "claims_65535x65535.gif": (lambda: gif_claiming_size(65535, 65535), ImageTooLarge),
    "top_down_bomb.bmp": (lambda: bmp_claiming_size(50000, -50000), ImageTooLarge),
    "bigtiff_bomb.tif": (lambda: bigtiff_claiming_size(100000, 100000), ImageTooLarge),
    "pages_2100.tif": (lambda: tiff_chain(2100), ImageTooLarge),  # counted only up to the page limit
    # sizes under the limit with hostile data: text chunks over Pillow's 1 MB cap, pixel data that ends early
    "ztxt_bomb.png": (lambda: png_with_chunk(b"zTXt", _ZTXT_BOMB + deflate_zeros(1 << 27)), CorruptImage),
    "iccp_bomb.png": (lambda: png_with_chunk(b"iCCP", _ICCP_NAME + deflate_zeros(1 << 27)), CorruptImage),
    "rle_7000x7000.bmp": (lambda: bmp_rle_claiming_size(7000, 7000), CorruptImage),
    "lzw_7000x7000.gif": (lambda: gif_lzw_claiming_size(7000, 7000), CorruptImage),
    "strip_past_the_end.tif": (lambda: tiff_patched(strip_offset=0x7FFFFFF0), CorruptImage),
    "unknown_compression.tif": (lambda: tiff_patched(compression=54321), CorruptImage),
    # polyglots and files named as something they are not
    "pdf_named.png": (encrypted_pdf, EncryptedDocument),
    "png_then_pdf.pdf": (lambda: b"\x89PNG\r\n\x1a\n" + pdf_with_page(), CorruptImage),
    "html_then_pdf.html": (lambda: _HTML + pdf_with_page()[:200], CorruptImage),
    "gif_then_pdf.gif": (lambda: b"GIF89a" + pdf_with_page(), CorruptImage),
    "zip_then_jpeg.jpg": (lambda: b"PK\x03\x04" + encode(page_image(), "JPEG"), UnsupportedFormat),
    "heic_named.jpg": (lambda: b"\x00\x00\x00\x18ftypheic" + b"\x00" * 200, UnsupportedFormat),
    "elf_named.png": (lambda: b"\x7fELF\x02\x01\x01" + b"\x00" * 200, UnsupportedFormat),
    "utf16_text.png": (lambda: "\ufeffnot an image at all\n".encode("utf-16-le"), UnsupportedFormat),
}


#: What the /Launch action of ``javascript_launch_uri.pdf`` would create if a reader ran it.
ACTION_MARKER = "/tmp/textlens-launch-action-ran"

# Hostile files that must still read: the loader copes (PDFium stops the form recursion at its depth
# limit, skips a looping page tree node, rebuilds a looping or oversized xref table, falls back to a
# Letter page for an absurd MediaBox, decodes a huge image XObject scaled down; Pillow stops at an IFD
# loop, reads a strip as far as the file goes) and the page comes out, blank or partial. Nothing in
# them may run, be fetched or take the reader down. Name -> bytes builder.
_READABLE_HOSTILE: dict[str, Callable[[], bytes]] = {
    "nested_forms_1000_deep.pdf": lambda: pdf_nested_forms(1000),
    "kids_cycle.pdf": lambda: pdf_page_tree(
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ),
    "image_40000x40000.pdf": lambda: pdf_with_image(40000, 40000, zlib.compress(bytes(1000))),
    "image_bomb_1bit.pdf": lambda: pdf_with_image(
        40000, 40000, deflate_zeros(200_000_000, chunk=8_000_000), b"/ColorSpace /DeviceGray /BitsPerComponent 1"
    ),
    "xref_prev_loop.pdf": pdf_xref_prev_loop,
    "deep_array_nesting.pdf": pdf_deep_nesting,
    "huge_xref_size.pdf": lambda: pdf_with_page().replace(b"/Size 4", b"/Size 2147483647"),
    "mediabox_1e38.pdf": lambda: pdf_with_page((0, 0, 1e38, 1e38)),
    "javascript_launch_uri.pdf": lambda: pdf_with_actions(ACTION_MARKER),
    "ifd_loop.tif": lambda: tiff_chain(3, loop_to=0),
    "huge_strip_length.tif": lambda: tiff_patched(strip_bytes=0xFFFFFFF0),
    "jpeg_then_zip.jpg": lambda: encode(page_image(), "JPEG") + b"PK\x03\x04" + b"\x00" * 200,
    "pdf_inside_png_text.png": lambda: png_with_chunk(b"tEXt", b"Comment\x00" + pdf_with_page()),
}


def _write_sparse_pdf(path: Path) -> None:
    """A PDF header, then a hole up to 1 GiB: a reader sees a gigabyte of zeros, the disk holds 4 KiB."""
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    os.truncate(path, 1 << 30)


# Bad files written by a function of their path (when bytes are not enough). Name -> (writer, expected error).
_WRITTEN_FILES: dict[str, tuple[Callable[[Path], None], type[InputError]]] = {
    "sparse_1gib.pdf": (_write_sparse_pdf, CorruptImage),
}

# A name that is markup to rich and a command to a careless shell: it must be reported verbatim.
ODD_NAME = "[red]odd $(touch pwned) ünï.png"


def _special_paths() -> list[tuple[str, type[InputError]]]:
    """Bad inputs that are not files with bad bytes (which of them this system can make)."""
    special: list[tuple[str, type[InputError]]] = [
        ("a_folder.png", NotAFile),
        ("missing.png", FileNotFound),
        ("broken_link.png", FileNotFound),
        ("symlink_loop.png", UnreadableFile),  # stat fails with ELOOP: not missing, not readable
        (ODD_NAME, CorruptImage),
    ]
    if hasattr(os, "mkfifo"):
        special.append(("pipe.png", NotAFile))
    if hasattr(stat, "S_IFSOCK") and sys.platform.startswith("linux"):
        special.append(("a_socket.png", NotAFile))
    if os.path.exists("/dev/zero"):
        special.append(("link_to_dev_zero.png", NotAFile))  # an endless file: must never be read
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root can read anything
        special.append(("locked.png", UnreadableFile))
    return special


def bad_input_names() -> list[str]:
    """The names ``make_bad_corpus`` creates, e.g. to parametrize tests before it runs."""
    return [*_BAD_FILES, *_HOSTILE_FILES, *_WRITTEN_FILES, *(name for name, _ in _special_paths())]


def make_bad_corpus(folder: str | os.PathLike[str]) -> list[tuple[Path, type[InputError]]]:
    """Write every bad input into ``folder``; returns ``(path, expected error class)`` pairs.

    Besides files with bad bytes (damaged files, then hostile ones: bombs, looping PDFs, polyglots, a
    sparse 1 GiB file): a folder, a missing path, a broken symlink, a symlink loop, a FIFO, a socket, a
    link to ``/dev/zero``, a name full of markup and shell syntax and (when not running as root) a file
    without read permission.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus: list[tuple[Path, type[InputError]]] = []
    for name, (build, error) in {**_BAD_FILES, **_HOSTILE_FILES}.items():
        path = folder / name
        path.write_bytes(build())
        corpus.append((path, error))
    for name, (write, error) in _WRITTEN_FILES.items():
        path = folder / name
        write(path)
        corpus.append((path, error))
    for name, error in _special_paths():
        path = folder / name
        _make_special(path)
        corpus.append((path, error))
    return corpus


def make_readable_hostile(folder: str | os.PathLike[str]) -> list[Path]:
    """Write the hostile files that must still be read (see ``_READABLE_HOSTILE``); returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in _READABLE_HOSTILE.items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths


def _make_special(path: Path) -> None:
    if path.name == "a_folder.png":
        path.mkdir(exist_ok=True)
    elif path.name == "broken_link.png" and not path.is_symlink():
        path.symlink_to(path.with_name("nowhere.png"))
    elif path.name == "symlink_loop.png" and not path.is_symlink():
        path.symlink_to(path.name)  # a link to itself
    elif path.name == "link_to_dev_zero.png" and not path.is_symlink():
        path.symlink_to("/dev/zero")
    elif path.name == "pipe.png" and not path.exists():
        os.mkfifo(path)
    elif path.name == "a_socket.png" and not path.exists():
        os.mknod(path, 0o600 | stat.S_IFSOCK)  # a socket file without binding (no path-length limit)
    elif path.name == ODD_NAME:
        path.write_bytes(_truncated("PNG")())
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
