"""Tests for textlens.io.load: every format and colour mode becomes RGB uint8 pages."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from tests.bad_inputs import encode, make_good_images, multipage_pdf, page_image, png_claiming_size
from textlens.errors import ConfigError, CorruptImage, ImageTooLarge, ImageTooSmall, UnsupportedFormat
from textlens.io import DEFAULT_MAX_PIXELS, PageImage, iter_pages, load, load_image
from textlens.io.sniff import describe_unknown, sniff_format


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _assert_page(page: PageImage, height: int, width: int) -> None:
    assert page.image.shape == (height, width, 3)
    assert page.image.dtype == np.uint8
    assert page.image.flags["C_CONTIGUOUS"]


def _halves(width: int = 60, height: int = 40) -> Image.Image:
    """Left half red, right half blue: shows any turn or mirror."""
    im = Image.new("RGB", (width, height), (255, 0, 0))
    im.paste((0, 0, 255), (width // 2, 0, width, height))
    return im


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("name", ["page.png", "page.bmp", "page.webp", "page.tif", "page.gif"])
def test_lossless_formats_round_trip_pixels_exactly(tmp_path: Path, name: str) -> None:
    path = next(p for p in make_good_images(tmp_path) if p.name == name)
    expected = np.asarray(page_image())
    pages = load(path)
    assert len(pages) == 1
    _assert_page(pages[0], 80, 120)
    if name == "page.gif":  # palette quantisation may shift colours slightly
        assert np.abs(pages[0].image.astype(int) - expected).mean() < 3
    else:
        np.testing.assert_array_equal(pages[0].image, expected)
    assert pages[0].source == str(path)
    assert pages[0].index == 0


def test_jpeg_loads_close_to_the_original(tmp_path: Path) -> None:
    path = next(p for p in make_good_images(tmp_path) if p.suffix == ".jpg")
    page = load_image(path)
    _assert_page(page, 80, 120)
    assert np.abs(page.image.astype(int) - np.asarray(page_image())).mean() < 4


def test_format_comes_from_the_bytes_not_the_extension(tmp_path: Path) -> None:
    path = _write(tmp_path / "really_a_jpeg.png", encode(_halves(), "JPEG", quality=95))
    page = load_image(path)
    _assert_page(page, 40, 60)
    assert page.image[20, 5, 0] > 200 and page.image[20, 55, 2] > 200


def test_every_tiff_page_is_loaded(tmp_path: Path) -> None:
    frames = [page_image(seed=i) for i in range(3)] + [Image.new("L", (50, 30), 128)]
    path = _write(tmp_path / "scan.tif", encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]))
    pages = load(path)
    assert [p.index for p in pages] == [0, 1, 2, 3]
    for page, frame in zip(pages, frames, strict=True):
        np.testing.assert_array_equal(page.image, np.asarray(frame.convert("RGB")))
    assert len(load(path, first_page_only=True)) == 1


def test_animated_gif_gives_its_first_frame_only(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (30, 20), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = _write(
        tmp_path / "anim.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    )
    pages = load(path)
    assert len(pages) == 1
    assert tuple(pages[0].image[10, 15]) == (255, 0, 0)


def test_pdf_pages_are_rendered_at_the_requested_dpi(tmp_path: Path) -> None:
    sheets = [_halves(144, 72), Image.new("RGB", (72, 144), (0, 160, 0))]
    path = _write(tmp_path / "doc.pdf", multipage_pdf(sheets, resolution=72))  # 1 px = 1 pt
    pages = load(path, dpi=144)
    assert len(pages) == 2
    _assert_page(pages[0], 144, 288)
    _assert_page(pages[1], 288, 144)
    assert all(p.dpi == 144 for p in pages) and [p.index for p in pages] == [0, 1]
    left, right = pages[0].image[72, 20], pages[0].image[72, 268]
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60
    assert np.abs(pages[1].image[144, 72].astype(int) - (0, 160, 0)).max() < 30
    assert len(load(path, first_page_only=True)) == 1


def test_iter_pages_renders_lazily(tmp_path: Path) -> None:
    path = _write(tmp_path / "doc.pdf", multipage_pdf([page_image(seed=i) for i in range(3)]))
    pages = iter_pages(path, dpi=72)
    first = next(pages)
    assert first.index == 0
    assert [p.index for p in pages] == [1, 2]


# ---------------------------------------------------------------- colour modes


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display needs a 90° clockwise turn
    path = _write(tmp_path / "phone.jpg", encode(_halves(60, 40), "JPEG", quality=95, exif=exif.tobytes()))
    page = load_image(path)
    _assert_page(page, 60, 40)  # now portrait
    top, bottom = page.image[5, 20], page.image[55, 20]
    assert top[0] > 200 and top[2] < 60  # the stored left (red) edge is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_becomes_the_right_rgb(tmp_path: Path) -> None:
    im = Image.new("CMYK", (40, 40), (255, 0, 0, 0))  # pure cyan
    im.paste((0, 0, 0, 255), (20, 0, 40, 40))  # pure black
    page = load_image(_write(tmp_path / "print.jpg", encode(im, "JPEG", quality=95)))
    assert np.abs(page.image[20, 5].astype(int) - (0, 255, 255)).max() < 8
    assert page.image[20, 35].max() < 8


def test_cmyk_with_an_unusable_icc_profile_falls_back_to_the_formula(tmp_path: Path) -> None:
    im = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red
    path = _write(tmp_path / "bad_icc.tif", encode(im, "TIFF", icc_profile=b"not a real profile"))
    assert tuple(load_image(path).image[10, 10]) == (255, 0, 0)


def test_16_bit_gray_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535]] * 8, dtype=np.uint16).repeat(4, axis=1)
    path = _write(tmp_path / "deep.png", encode(Image.fromarray(values), "PNG"))
    assert Image.open(path).mode.startswith("I")  # the file really is 16-bit
    page = load_image(path)
    np.testing.assert_array_equal(page.image[0, ::4, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(page.image[:, :, 0], page.image[:, :, 2])


def test_16_bit_rgb_png_is_scaled(tmp_path: Path) -> None:
    bgr = np.zeros((8, 8, 3), dtype=np.uint16)
    bgr[:, :, 2] = 65535  # red, in OpenCV's BGR order
    bgr[:, :, 1] = 32896
    ok, data = cv2.imencode(".png", bgr)
    assert ok
    page = load_image(_write(tmp_path / "deep_rgb.png", data.tobytes()))
    np.testing.assert_allclose(page.image[4, 4], (255, 128, 0), atol=1)


def test_palette_transparency_is_composited_over_white(tmp_path: Path) -> None:
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    im.paste(1, (10, 0, 20, 20))
    im.info["transparency"] = 0  # index 0 (black) is fully transparent
    page = load_image(_write(tmp_path / "logo.png", encode(im, "PNG", transparency=0)))
    assert tuple(page.image[5, 5]) == (255, 255, 255)
    assert tuple(page.image[5, 15]) == (200, 0, 0)


def test_rgba_half_transparent_blends_with_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 128))
    page = load_image(_write(tmp_path / "glass.png", encode(im, "PNG")))
    assert np.abs(page.image.astype(int) - 127).max() <= 1


@pytest.mark.parametrize("mode", ["1", "L", "LA", "I;16", "RGBX"])
def test_other_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    if mode == "I;16":
        im = Image.fromarray(np.full((12, 16), 65535, np.uint16))
    else:
        im = Image.new("L", (16, 12), 255).convert(mode)
    fmt = "TIFF" if mode in ("I;16", "RGBX") else "PNG"
    page = load_image(_write(tmp_path / f"mode.{fmt.lower()}", encode(im, fmt)))
    _assert_page(page, 12, 16)
    assert page.image.min() >= 254


# ---------------------------------------------------------------- metadata and options


def test_dpi_comes_from_file_metadata(tmp_path: Path) -> None:
    assert load_image(_write(tmp_path / "a.png", encode(page_image(), "PNG", dpi=(300, 300)))).dpi == 300
    assert load_image(_write(tmp_path / "b.jpg", encode(page_image(), "JPEG", dpi=(150, 150)))).dpi == 150
    assert load_image(_write(tmp_path / "c.png", encode(page_image(), "PNG"))).dpi is None


def test_max_pixels_option_refuses_and_allows(tmp_path: Path) -> None:
    path = _write(tmp_path / "page.png", encode(page_image(120, 80), "PNG"))
    with pytest.raises(ImageTooLarge, match=r"120×80 = 9600 pixels exceeds the limit of 9599"):
        load(path, max_pixels=9599)
    assert load(path, max_pixels=9600)[0].image.shape == (80, 120, 3)


def test_pdf_page_is_refused_before_rendering_when_too_big(tmp_path: Path) -> None:
    path = _write(tmp_path / "doc.pdf", multipage_pdf([page_image(100, 100)], resolution=72))
    with pytest.raises(ImageTooLarge, match=r"page 1 of 1 at 720 dpi: 1000×1000"):
        load(path, dpi=720, max_pixels=999_999)


def test_pillows_own_limits_neither_warn_nor_override_max_pixels(tmp_path: Path) -> None:
    # 10000² is where Pillow warns, 15000² where it refuses; both have almost no pixel data, so
    # once allowed by max_pixels they are decoded and found truncated.
    warn_zone = _write(tmp_path / "warn.png", png_claiming_size(10000, 10000))
    error_zone = _write(tmp_path / "error.png", png_claiming_size(15000, 15000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CorruptImage):
            load(warn_zone, max_pixels=150_000_000)
        with pytest.raises(ImageTooLarge, match="15000×15000"):
            load(error_zone)
        with pytest.raises(CorruptImage):
            load(error_zone, max_pixels=300_000_000)


def test_default_limit_admits_an_a4_page_at_600_dpi_and_refuses_a_12000_square_bomb() -> None:
    assert 4961 * 7016 <= DEFAULT_MAX_PIXELS < 12000 * 12000


def test_truncated_images_stay_refused_after_loading() -> None:
    load(encode(page_image(), "PNG"))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("bad", [{"dpi": 0}, {"dpi": float("nan")}, {"max_pixels": 0}, {"min_side": 0}])
def test_invalid_options_raise_config_error(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        load(encode(page_image(), "PNG"), **bad)


def test_min_side_is_configurable() -> None:
    data = encode(Image.new("RGB", (10, 3), "white"), "PNG")
    with pytest.raises(ImageTooSmall, match="10×3"):
        load(data)
    assert load(data, min_side=3)[0].image.shape == (3, 10, 3)


# ---------------------------------------------------------------- in-memory inputs


def test_bytes_input_is_named_in_errors_and_loads() -> None:
    page = load_image(encode(page_image(), "PNG"))
    _assert_page(page, 80, 120)
    assert page.source is None
    with pytest.raises(UnsupportedFormat, match="<bytes>"):
        load(b"hello world, this is text")


def test_pdf_bytes_input_loads() -> None:
    pages = load(multipage_pdf([page_image(), page_image(seed=1)]), dpi=72)
    assert len(pages) == 2 and pages[0].source is None


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((6, 8), 200, np.uint8), (200, 200, 200)),
        (np.full((6, 8, 1), 7, np.uint8), (7, 7, 7)),
        (np.tile(np.array([10, 20, 30], np.uint8), (6, 8, 1)), (10, 20, 30)),
        (np.tile(np.array([0, 0, 0, 0], np.uint8), (6, 8, 1)), (255, 255, 255)),
        (np.full((6, 8), 65535, np.uint16), (255, 255, 255)),
        (np.ones((6, 8), bool), (255, 255, 255)),
        (np.full((6, 8, 3), 0.5, np.float32), (128, 128, 128)),
    ],
)
def test_numpy_arrays_become_rgb(array: np.ndarray, expected: tuple[int, int, int]) -> None:
    page = load_image(array)
    _assert_page(page, 6, 8)
    assert tuple(page.image[3, 3]) == expected
    assert page.source is None


def test_numpy_input_is_copied_and_made_contiguous() -> None:
    array = np.zeros((10, 20, 3), np.uint8)[:, ::2]
    page = load_image(array)
    assert page.image.flags["C_CONTIGUOUS"] and not np.shares_memory(page.image, array)


@pytest.mark.parametrize(
    "array", [np.zeros((5, 5, 2), np.uint8), np.zeros((5, 5), np.int64), np.full((5, 5), 3.0), np.zeros(25, np.uint8)]
)
def test_unusable_arrays_are_refused(array: np.ndarray) -> None:
    with pytest.raises(UnsupportedFormat, match="<array>"):
        load(array)


def test_pil_images_load_in_any_mode() -> None:
    assert tuple(load_image(Image.new("L", (9, 9), 50)).image[0, 0]) == (50, 50, 50)
    assert tuple(load_image(Image.new("RGBA", (9, 9), (0, 0, 0, 0))).image[0, 0]) == (255, 255, 255)
    opened = Image.open(io.BytesIO(encode(_halves(), "PNG")))
    page = load_image(opened)
    _assert_page(page, 40, 60)


def test_unknown_source_type_is_refused() -> None:
    with pytest.raises(UnsupportedFormat, match="int"):
        load(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- sniffing and imports


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x89PNG\r\n\x1a\nxxxx", "PNG"),
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"BM\x00\x00", "BMP"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"GIF89a", "GIF"),
        (b"%PDF-1.7", "PDF"),
        (b"\n\n%PDF-1.4", "PDF"),
        (b"hello", None),
    ],
)
def test_sniff_format_reads_magic_bytes(head: bytes, fmt: str | None) -> None:
    assert sniff_format(head) == fmt


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (b"<svg xmlns='x'>", "SVG"),
        (b"<!DOCTYPE html><html>", "HTML"),
        (b"PK\x03\x04", "ZIP"),
        (b"\x00\x00\x00\x18ftypheic", "HEIC"),
        (b"P6\n10 10\n255\n", "Netpbm"),
        (b"just words", "plain text"),
        (b"\x00\x01\x02\xff", "binary"),
    ],
)
def test_unknown_bytes_are_described(head: bytes, looks_like: str) -> None:
    assert looks_like in describe_unknown(head)


def test_importing_textlens_io_does_not_import_torch_or_pdfium() -> None:
    code = "import sys, textlens.io; print('torch' in sys.modules, 'pypdfium2' in sys.modules)"
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.split() == ["False", "False"]
