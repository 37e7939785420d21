"""What a file is, from its first bytes: the formats textlens reads, and a name for those it does not."""

from __future__ import annotations

from textlens.errors import UnsupportedFormat

SUPPORTED = "PNG, JPEG, TIFF, BMP, WebP, GIF, PDF"
SNIFF_BYTES = 2048


def sniff_format(head: bytes) -> str | None:
    """The format textlens reads that ``head`` (the first bytes of a file) starts, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    # The PDF spec lets the header start anywhere in the first 1024 bytes.
    if b"%PDF-" in head[:1024]:
        return "PDF"
    return None


_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a DOCX/XLSX/ODT/EPUB document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"8BPS", "a Photoshop PSD file"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "a legacy Microsoft Office document"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"qoif", "a QOI image"),
)


def describe_unknown(head: bytes) -> str:
    """What non-supported bytes look like, for the error message (e.g. 'HTML', 'plain text')."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "a HEIC/HEIF image"
        return "an AVIF image" if brand.startswith(b"avi") else "an MP4/QuickTime file"
    if len(head) >= 2 and head[:1] == b"P" and head[1:2] in b"1234567":
        return "a Netpbm image (PBM/PGM/PPM)"
    return _describe_text(head) or "unrecognised binary data"


def _describe_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        # A multi-byte character may be cut at the end of the sniffed bytes.
        text = head.decode("utf-8", errors="strict" if len(head) < SNIFF_BYTES else "ignore")
    except UnicodeDecodeError:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<svg") or (start.startswith("<?xml") and "<svg" in start):
        return "an SVG drawing"
    if start.startswith(("<!doctype html", "<html")) or "<html" in start[:256]:
        return "an HTML page"
    if start.startswith("<?xml"):
        return "an XML document"
    if start.startswith(("{", "[")):
        return "JSON or other text"
    return "plain text"


def unsupported(head: bytes, source: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"not an image or PDF textlens reads: it looks like {describe_unknown(head)} (supported: {SUPPORTED})",
        source=source,
    )
