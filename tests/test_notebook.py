"""The Python API for notebooks and scripts: Document/Page export, show and Jupyter reprs, OCR.read on file
objects and lists, and the onnxruntime provider choice (device="cuda")."""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import sys

import numpy as np
import pytest
from PIL import Image

from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.document import Document
from textlens.errors import ConfigError, UnsupportedFormat
from textlens.pipeline import OCR
from textlens.runtime import session


def _page_image() -> np.ndarray:
    image = np.full((120, 300, 3), 255, dtype=np.uint8)
    image[20:40, 20:180] = 0
    image[70:90, 20:260] = 0
    return image


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def ocr() -> OCR:
    return OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())


@pytest.fixture
def page_file(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(_png(_page_image()))
    return path


def _comparable(document: Document) -> list[dict]:
    return [{k: v for k, v in p.to_dict().items() if k != "source"} for p in document.pages]


# ---------------------------------------------------------------- read: file objects and lists


def test_bytesio_and_open_file_read_like_the_path(ocr: OCR, page_file) -> None:
    by_path = ocr.read(page_file)
    by_bytesio = ocr.read(io.BytesIO(page_file.read_bytes()))
    with open(page_file, "rb") as handle:
        by_handle = ocr.read(handle)
        assert not handle.closed  # the caller's file stays theirs
    assert by_path.pages[0].words  # the fake detector found the two bars
    assert _comparable(by_bytesio) == _comparable(by_path) == _comparable(by_handle)
    assert by_handle.pages[0].source == str(page_file)  # an open file's name is the source
    assert by_bytesio.pages[0].source is None


def test_text_mode_file_is_refused_with_a_hint(ocr: OCR, page_file) -> None:
    with open(page_file, encoding="latin-1") as handle, pytest.raises(UnsupportedFormat, match="binary mode"):
        ocr.read(handle)


def test_a_list_of_inputs_gives_a_list_of_documents(ocr: OCR, page_file) -> None:
    documents = ocr.read([page_file, io.BytesIO(page_file.read_bytes()), _page_image()])
    assert isinstance(documents, list) and len(documents) == 3
    assert all(isinstance(d, Document) for d in documents)
    assert _comparable(documents[0]) == _comparable(documents[1]) == _comparable(documents[2])
    assert ocr.read([]) == []


# ---------------------------------------------------------------- page images kept as references


def test_pages_keep_a_reference_to_their_input_not_pixels(ocr: OCR, page_file) -> None:
    page = ocr.read(page_file).pages[0]
    reference = page.image_source
    assert reference is not None and reference.source == page_file  # the path, no pixels
    assert np.array_equal(page.load_image(), _page_image())
    # Documents stay picklable (the CLI's worker processes send them back) and equal without the reference.
    again = pickle.loads(pickle.dumps(page))
    assert again == page and np.array_equal(again.load_image(), _page_image())


# ---------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["text", "json", "hocr", "alto", "tsv"])
def test_export_text_formats_match_the_writers(ocr: OCR, page_file, fmt: str) -> None:
    from textlens.io.write import render

    document = ocr.read(page_file)
    out = document.export(fmt)
    assert isinstance(out, str) and out == render(document, fmt)


def test_json_export_round_trips(ocr: OCR, page_file) -> None:
    document = ocr.read(page_file)
    back = Document.from_dict(json.loads(document.export("json")))
    assert back.to_dict()["pages"] == document.to_dict()["pages"]  # boxes as JSON rounds them
    assert back.text == document.text and back.pages[0].image_source is None
    assert json.loads(document.pages[0].export("json"))["pages"][0]["width"] == 300


def test_pdf_and_overlay_exports_carry_the_page_image(ocr: OCR, page_file) -> None:
    document = ocr.read(page_file)
    pdf = document.export("pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-") and b"/Image" in pdf
    overlay = document.export("overlay")
    with Image.open(io.BytesIO(overlay)) as picture:
        assert picture.format == "PNG" and picture.size == (300, 120)
        pixels = np.asarray(picture.convert("RGB"))
    assert pixels[30, 100].max() < 120  # the black bar of the page image is there (drawn on white otherwise)


def test_export_unknown_format_names_the_formats(ocr: OCR, page_file) -> None:
    with pytest.raises(ConfigError, match="hocr"):
        ocr.read(page_file).export("docx")


# ---------------------------------------------------------------- notebooks: reprs and show


def test_repr_png_is_a_png_of_the_page(ocr: OCR, page_file) -> None:
    page = ocr.read(page_file).pages[0]
    data = page._repr_png_()
    assert data is not None and data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == (300, 120)


def test_repr_png_scales_large_pages_down() -> None:
    from textlens.document import Page, Word
    from textlens.layout import page_from_words

    page = page_from_words([Word("big", (100, 100, 400, 160))], width=4000, height=3000)
    assert isinstance(page, Page)
    with Image.open(io.BytesIO(page._repr_png_())) as picture:
        assert picture.size == (1400, 1050)


def test_repr_html_embeds_the_pages_and_the_text(ocr: OCR, page_file) -> None:
    document = ocr.read([page_file])[0]
    text = document._repr_html_()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert "4 words" in text and "<details>" in text and "aaaa bbbb" in text
    long = Document(pages=document.pages * 5)
    assert len(re.findall("data:image/png", long._repr_html_())) == 3 and "2 more pages" in long._repr_html_()


def test_show_draws_every_word(ocr: OCR, page_file) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    document = ocr.read(page_file)
    figure = document.pages[0].show()
    try:
        ax = figure.axes[0]
        assert len(ax.patches) == len(document.pages[0].words) == 4
        assert sorted(t.get_text() for t in ax.texts) == sorted(w.text for w in document.pages[0].words)
        out = io.BytesIO()
        figure.savefig(out, format="png")
        assert Image.open(io.BytesIO(out.getvalue())).format == "PNG"
        assert len(document.show()) == 1
    finally:
        plt.close("all")


def test_show_without_matplotlib_says_what_to_install(ocr: OCR, page_file, monkeypatch) -> None:
    page = ocr.read(page_file).pages[0]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"textlens\[viz\]"):
        page.show()


# ---------------------------------------------------------------- providers


def _offer(monkeypatch, providers: list[str]) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(providers))


def test_cpu_is_the_default_and_auto_falls_back_to_it(monkeypatch) -> None:
    _offer(monkeypatch, ["CPUExecutionProvider"])
    assert session.resolve_providers() == ["CPUExecutionProvider"]
    assert session.resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert session.resolve_providers("auto") == ["CPUExecutionProvider"]


def test_cuda_is_chosen_when_onnxruntime_gpu_offers_it(monkeypatch) -> None:
    _offer(monkeypatch, ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    assert session.resolve_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert session.resolve_providers("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert session.resolve_providers("cuda:1") == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert session.resolve_providers(providers=["CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


def test_cuda_without_onnxruntime_gpu_is_a_clear_error(monkeypatch) -> None:
    _offer(monkeypatch, ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match="onnxruntime-gpu"):
        session.resolve_providers("cuda")
    with pytest.raises(ConfigError, match=r"CUDAExecutionProvider.*onnxruntime-gpu"):
        session.resolve_providers(providers=["CUDAExecutionProvider"])
    with pytest.raises(ConfigError, match="unknown device"):
        session.resolve_providers("tpu")


def test_ocr_passes_the_providers_to_the_sessions(monkeypatch) -> None:
    _offer(monkeypatch, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    made: list[tuple[str, object]] = []

    class FakeSession:
        def __init__(self, path: str, sess_options=None, providers=None) -> None:
            made.append((path, providers))
            self._real = real(path, sess_options=sess_options, providers=["CPUExecutionProvider"])

        def __getattr__(self, name: str):
            return getattr(self._real, name)

    import onnxruntime

    real = onnxruntime.InferenceSession
    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    session.clear_cache()
    try:
        ocr = OCR(device="cuda", threads=1)
        assert ocr.providers == ["CUDAExecutionProvider", "CPUExecutionProvider"]
        assert len(made) == 2 and all(p == ["CUDAExecutionProvider", "CPUExecutionProvider"] for _, p in made)
        made.clear()
        OCR(threads=1)  # the CPU is cached apart from the CUDA sessions
        assert [p for _, p in made] == [["CPUExecutionProvider"]] * 2
    finally:
        session.clear_cache()
