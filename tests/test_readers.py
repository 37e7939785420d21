"""Dataset readers: each format is written here in miniature, read back and checked sample by sample."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textlens.data.readers import crop_quad, list_formats, open_dataset, read_idx, reader_class
from textlens.data.readers.dhcd import dhcd_character
from textlens.data.readers.kaist import decode_xml_bytes
from textlens.data.samples import CropSample, LabelSample, PageSample
from textlens.errors import AnnotationError, ConfigError, FileNotFound, UnsupportedFormat


def write_png(path: Path, width: int = 60, height: int = 40, value: int = 200) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(path)
    return path


# ------------------------------------------------------------------------------------------- registry


def test_registry_lists_every_format_and_resolves_aliases() -> None:
    formats = list_formats()
    for name in (
        "mnist",
        "svhn_full",
        "svhn_cropped",
        "svt",
        "iiit5k",
        "icdar2013",
        "icdar2015",
        "icdar_words",
        "kaist",
        "dhcd",
        "funsd",
        "sroie",
        "lmdb",
        "manifest",
    ):
        assert name in formats
    assert reader_class("IC15") is reader_class("icdar2015")
    assert reader_class("svhn-full") is reader_class("svhn_full")


def test_unknown_format_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown dataset format 'nope'.*icdar2015"):
        open_dataset("nope", ".")


def test_missing_dataset_path_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound, match="missing"):
        open_dataset("icdar2015", tmp_path / "missing")


# ---------------------------------------------------------------------------------------------- MNIST


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder: Path, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("train-images-idx3-ubyte", idx_bytes(images, 0x08)),
        ("train-labels-idx1-ubyte", idx_bytes(labels, 0x08)),
    ):
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_yields_rgb_label_samples_from_raw_or_gzipped_idx(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9], np.uint8)
    write_mnist(tmp_path, images, labels, gz)
    reader = open_dataset("mnist", tmp_path)
    assert len(reader) == 5
    samples = list(reader)
    assert all(isinstance(s, LabelSample) for s in samples)
    assert [s.label for s in samples] == ["5", "0", "4", "1", "9"]
    assert samples[2].image.shape == (28, 28, 3) and samples[2].image.dtype == np.uint8
    assert np.array_equal(samples[2].image[:, :, 1], images[2])


def test_read_idx_returns_writable_native_arrays_of_any_idx_type(tmp_path: Path) -> None:
    values = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(idx_bytes(values, 0x0B)))
    out = read_idx(path)
    assert out.shape == (3, 4) and out.dtype == np.int16 and out.dtype.isnative
    assert np.array_equal(out, values) and out.flags.writeable


def test_read_idx_rejects_a_non_idx_file_and_a_truncated_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(UnsupportedFormat, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(idx_bytes(np.zeros((4, 2, 2), np.uint8), 0x08)[:-3])
    with pytest.raises(AnnotationError, match="truncated"):
        read_idx(short)


# ----------------------------------------------------------------------------------------------- SVHN


Digit = tuple[int, float, float, float, float]  # label, top, left, width, height


def write_digit_struct(path: Path, entries: list[tuple[str, list[Digit]]]) -> None:
    """The MATLAB v7.3 layout: names and bboxes as references, one digit stored inline, several as refs."""
    import h5py

    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        names = f.create_dataset("digitStruct/name", (len(entries), 1), dtype=h5py.ref_dtype)
        boxes = f.create_dataset("digitStruct/bbox", (len(entries), 1), dtype=h5py.ref_dtype)
        for i, (name, digits) in enumerate(entries):
            names[i, 0] = refs.create_dataset(f"n{i}", data=np.array([[ord(c)] for c in name], np.uint16)).ref
            group = refs.create_group(f"b{i}")
            for k, field in enumerate(("label", "top", "left", "width", "height")):
                column = [d[0] if field == "label" else d[k] for d in digits]
                if len(digits) == 1:
                    group.create_dataset(field, data=np.array([[column[0]]], np.float64))
                else:
                    ds = group.create_dataset(field, (len(digits), 1), dtype=h5py.ref_dtype)
                    for j, value in enumerate(column):
                        ds[j, 0] = refs.create_dataset(f"v{i}_{field}_{j}", data=np.array([[value]])).ref
            boxes[i, 0] = group.ref


def test_svhn_full_reads_single_and_multi_digit_boxes_with_10_as_zero(tmp_path: Path) -> None:
    write_png(tmp_path / "1.png", 80, 50)
    write_png(tmp_path / "2.png", 80, 50)
    # (label, top, left, width, height)
    write_digit_struct(
        tmp_path / "digitStruct.mat",
        [
            ("1.png", [(1, 5, 10, 8, 20), (10, 6, 19, 9, 21)]),
            ("2.png", [(7, 3, 30, 10, 30)]),
        ],
    )
    reader = open_dataset("svhn_full", tmp_path)
    pages = list(reader)
    assert len(reader) == 2 and all(isinstance(p, PageSample) for p in pages)
    assert [w.text for w in pages[0].words] == ["1", "0"]
    assert pages[0].words[1].box == (19.0, 6.0, 28.0, 27.0)
    assert [w.text for w in pages[1].words] == ["7"] and pages[1].words[0].box == (30.0, 3.0, 40.0, 33.0)
    crops = list(reader.crops())
    assert [c.text for c in crops] == ["10", "7"]
    assert crops[0].image.shape == (22, 18, 3)  # union box x 10..28, y 5..27


def test_svhn_cropped_maps_label_10_to_zero(tmp_path: Path) -> None:
    from scipy.io import savemat

    x = np.zeros((32, 32, 3, 3), np.uint8)
    x[:, :, 0, 1] = 255
    savemat(tmp_path / "test_32x32.mat", {"X": x, "y": np.array([[10], [3], [1]], np.uint8)})
    samples = list(open_dataset("svhn_cropped", tmp_path / "test_32x32.mat"))
    assert [s.label for s in samples] == ["0", "3", "1"]
    assert samples[1].image.shape == (32, 32, 3) and samples[1].image[0, 0, 0] == 255


def test_svhn_cropped_without_x_and_y_is_an_annotation_error(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(tmp_path / "other.mat", {"Z": np.zeros(3)})
    with pytest.raises(AnnotationError, match="X and y"):
        open_dataset("svhn_cropped", tmp_path / "other.mat")


# ------------------------------------------------------------------------------------------------ SVT


SVT_XML = """<?xml version="1.0" encoding="utf-8"?>
<tagset>
  <image>
    <imageName>img/14_03.jpg</imageName>
    <address>Some street</address>
    <lex>LIVING,ROOM,THEATERS,OTHER</lex>
    <Resolution x="60" y="40"/>
    <taggedRectangles>
      <taggedRectangle height="10" width="20" x="5" y="4"><tag>LIVING</tag></taggedRectangle>
      <taggedRectangle height="12" width="25" x="30" y="20"><tag>ROOM</tag></taggedRectangle>
    </taggedRectangles>
  </image>
</tagset>
"""


def test_svt_reads_pages_crops_and_lexicons(tmp_path: Path) -> None:
    write_png(tmp_path / "img" / "14_03.jpg")
    (tmp_path / "test.xml").write_text(SVT_XML, encoding="utf-8")
    reader = open_dataset("svt", tmp_path)
    (page,) = list(reader)
    assert [(w.text, w.box) for w in page.words] == [
        ("LIVING", (5.0, 4.0, 25.0, 14.0)),
        ("ROOM", (30.0, 20.0, 55.0, 32.0)),
    ]
    assert reader.entries[0].lexicon == ("LIVING", "ROOM", "THEATERS", "OTHER")
    crops = list(reader.crops())
    assert [c.text for c in crops] == ["LIVING", "ROOM"] and crops[1].image.shape == (12, 25, 3)


def test_svt_bad_coordinate_names_file_and_image(tmp_path: Path) -> None:
    (tmp_path / "test.xml").write_text(SVT_XML.replace('x="30"', 'x="thirty"'), encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"test\.xml: img/14_03\.jpg.*x='thirty'"):
        open_dataset("svt", tmp_path)


# ---------------------------------------------------------------------------------------------- IIIT5K


def test_iiit5k_reads_crops_and_keeps_lexicons(tmp_path: Path) -> None:
    from scipy.io import savemat

    write_png(tmp_path / "test" / "1002_1.png", 50, 20)
    write_png(tmp_path / "test" / "1009_2.png", 40, 20)
    table = np.zeros((1, 2), dtype=[("ImgName", "O"), ("GroundTruth", "O"), ("smallLexi", "O"), ("mediumLexi", "O")])
    for i, (name, text) in enumerate((("test/1002_1.png", "PRIVATE"), ("test/1009_2.png", "MILK"))):
        table[0, i] = (
            name,
            text,
            np.array(["PRIVATE", "MILK", "SALE"], dtype=object),
            np.array(["PRIVATE", "MILK", "SALE", "OPEN"], dtype=object),
        )
    savemat(tmp_path / "testdata.mat", {"testdata": table})
    reader = open_dataset("iiit5k", tmp_path)
    crops = list(reader)
    assert all(isinstance(c, CropSample) for c in crops)
    assert [c.text for c in crops] == ["PRIVATE", "MILK"] and crops[0].image.shape == (20, 50, 3)
    assert reader.entries[1].small_lexicon == ("PRIVATE", "MILK", "SALE")
    assert len(reader.entries[0].medium_lexicon) == 4


# ----------------------------------------------------------------------------------------------- ICDAR


def test_icdar2013_reads_comma_space_and_space_separated_lines(tmp_path: Path) -> None:
    write_png(tmp_path / "100.jpg")
    write_png(tmp_path / "101.jpg")
    (tmp_path / "gt_100.txt").write_text('38, 4, 50, 15, "Tiredness"\n2, 3, 9, 30, "a, b"\n', encoding="utf-8")
    (tmp_path / "gt_101.txt").write_text('1 2 30 20 "Footpath"\n', encoding="utf-8")
    pages = list(open_dataset("icdar2013", tmp_path))
    assert [(w.text, w.box) for w in pages[0].words] == [
        ("Tiredness", (38.0, 4.0, 50.0, 15.0)),
        ("a, b", (2.0, 3.0, 9.0, 30.0)),
    ]
    assert [w.text for w in pages[1].words] == ["Footpath"]


def test_icdar2013_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    write_png(tmp_path / "7.jpg")
    (tmp_path / "gt_7.txt").write_text('1, 2, 3, 4, "ok"\n1, 2, "broken"\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"gt_7\.txt:2: expected"):
        list(open_dataset("icdar2013", tmp_path))


def test_icdar2015_reads_bom_quads_commas_and_dont_care(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "img_1.jpg", 120, 80)
    gt = tmp_path / "gt"
    gt.mkdir()
    text = "377,117,463,117,465,130,378,130,Genaxis Theatre\n1,2,11,2,11,9,1,9,###\n5,5,50,5,50,20,5,20,a,b\n"
    (gt / "gt_img_1.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (page,) = list(open_dataset("icdar2015", tmp_path / "images", gt_dir=gt))
    first, dont_care, comma = page.words
    assert first.text == "Genaxis Theatre"
    assert first.polygon is not None and first.polygon[0] == (377.0, 117.0)
    assert first.box == (377.0, 117.0, 465.0, 130.0)
    assert dont_care.ignore and dont_care.is_dont_care
    assert comma.text == "a,b"


def test_icdar2015_gt_without_image_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gt_img_9.txt").write_text("1,2,3,2,3,4,1,4,x\n", encoding="utf-8")
    with pytest.raises(FileNotFound, match=r"no image img_9\.\* for gt_img_9\.txt"):
        open_dataset("icdar2015", tmp_path)


def test_icdar_word_gt_reads_quoted_texts_with_escapes(tmp_path: Path) -> None:
    write_png(tmp_path / "word_1.png", 30, 10)
    write_png(tmp_path / "word_2.png", 30, 10)
    (tmp_path / "gt.txt").write_bytes('\ufeffword_1.png, "Tiredness"\nword_2.png, "say \\"hi\\", ok"\n'.encode("utf-8"))
    crops = list(open_dataset("icdar_words", tmp_path))
    assert [c.text for c in crops] == ["Tiredness", 'say "hi", ok']
    assert crops[0].image.shape == (10, 30, 3)


# ----------------------------------------------------------------------------------------------- KAIST


KAIST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<images>
  <image>
    <imageName>DSC1.JPG</imageName>
    <resolution x="60" y="40"/>
    <words>
      <word x="2" y="3" width="20" height="10">
        <character x="2" y="3" width="10" height="10" char="한"/>
        <character x="12" y="3" width="10" height="10" char="글"/>
      </word>
      <word x="30" y="5" width="25" height="12">
        <character x="30" y="5" width="12" height="12" char="O"/>
        <character x="42" y="5" width="13" height="12" char="K"/>
      </word>
    </words>
  </image>
</images>
"""


@pytest.mark.parametrize("encoding", ["euc-kr", "utf-8-sig"])
def test_kaist_reads_korean_words_whatever_the_real_encoding(tmp_path: Path, encoding: str) -> None:
    write_png(tmp_path / "scene" / "DSC1.JPG")
    (tmp_path / "scene" / "DSC1.xml").write_bytes(KAIST_XML.encode(encoding))
    (page,) = list(open_dataset("kaist", tmp_path))
    assert [(w.text, w.box) for w in page.words] == [("한글", (2.0, 3.0, 22.0, 13.0)), ("OK", (30.0, 5.0, 55.0, 17.0))]


def test_kaist_decoding_drops_the_declaration_and_bom() -> None:
    assert decode_xml_bytes(b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?><a/>") == "<a/>"


def test_kaist_invalid_xml_names_the_file(tmp_path: Path) -> None:
    write_png(tmp_path / "x.jpg")
    (tmp_path / "x.xml").write_text("<images><image>", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"x\.xml: invalid XML"):
        list(open_dataset("kaist", tmp_path))


# ------------------------------------------------------------------------------------------------ DHCD


def test_dhcd_labels_are_devanagari_characters(tmp_path: Path) -> None:
    for folder in ("digit_0", "digit_7", "character_01_ka", "character_36_gya", "mystery"):
        write_png(tmp_path / "Train" / folder / "1.png", 32, 32)
    reader = open_dataset("dhcd", tmp_path, split="train")
    labels = sorted(s.label for s in reader)
    assert labels == sorted(["०", "७", "क", "ज्ञ", "mystery"])
    assert dhcd_character("character_10_yna") == "ञ" and dhcd_character("character_33_ha") == "ह"
    folders = sorted(s.label for s in open_dataset("dhcd", tmp_path, label_mode="folder"))
    assert "digit_7" in folders


# ----------------------------------------------------------------------------------------------- FUNSD


def test_funsd_yields_words_with_entity_label_and_id(tmp_path: Path) -> None:
    write_png(tmp_path / "training_data" / "images" / "0001.png", 200, 100)
    form = {
        "form": [
            {
                "id": 3,
                "label": "question",
                "text": "Date:",
                "box": [10, 10, 50, 20],
                "linking": [[3, 4]],
                "words": [{"text": "Date:", "box": [10, 10, 50, 20]}],
            },
            {
                "id": 4,
                "label": "answer",
                "text": "1 May",
                "box": [60, 10, 100, 20],
                "linking": [[3, 4]],
                "words": [
                    {"text": "1", "box": [60, 10, 66, 20]},
                    {"text": "May", "box": [70, 10, 100, 20]},
                    {"text": "", "box": [101, 10, 102, 20]},
                ],
            },
        ]
    }
    ann = tmp_path / "training_data" / "annotations"
    ann.mkdir(parents=True)
    (ann / "0001.json").write_text(json.dumps(form), encoding="utf-8")
    (page,) = list(open_dataset("funsd", tmp_path, split="train"))
    assert [w.text for w in page.words] == ["Date:", "1", "May", ""]
    assert page.words[2].extra == {"entity_id": 4, "label": "answer"}
    assert page.words[2].box == (70, 10, 100, 20)
    assert page.words[3].ignore  # an empty word is kept as a don't-care box
    (entities,) = list(open_dataset("funsd", tmp_path, level="entity"))
    assert [w.text for w in entities.words] == ["Date:", "1 May"]


def test_funsd_bad_box_names_file_and_entity(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "a.png")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "a.json").write_text(
        json.dumps({"form": [{"id": 0, "label": "other", "words": [{"text": "x", "box": [1, 2, 3]}]}]})
    )
    with pytest.raises(AnnotationError, match=r"a\.json: form\[0\] words\[0\]: 'box' must be"):
        list(open_dataset("funsd", tmp_path))


# ----------------------------------------------------------------------------------------------- SROIE


def test_sroie_reads_text_lines_whose_text_holds_commas(tmp_path: Path) -> None:
    write_png(tmp_path / "X001.jpg", 400, 200)
    (tmp_path / "X001.txt").write_text(
        "72,25,326,25,326,64,72,64,TAN WOON YANN\n\n110,144,383,144,383,163,110,163,NO.53 55,57 & 59, JALAN\n",
        encoding="utf-8",
    )
    (page,) = list(open_dataset("sroie", tmp_path))
    assert [w.text for w in page.words] == ["TAN WOON YANN", "NO.53 55,57 & 59, JALAN"]
    assert page.words[1].box == (110.0, 144.0, 383.0, 163.0)


def test_sroie_non_numeric_coordinates_name_file_and_line(tmp_path: Path) -> None:
    write_png(tmp_path / "X002.jpg")
    (tmp_path / "X002.txt").write_text("1,2,3,4,5,6,7,x8,TEXT\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"X002\.txt:1: coordinates"):
        list(open_dataset("sroie", tmp_path))


# ------------------------------------------------------------------------------------------------ LMDB


def test_lmdb_reads_the_standard_recognition_layout(tmp_path: Path) -> None:
    import io

    import lmdb

    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        for i, text in enumerate(["hello", "wörld"], 1):
            buf = io.BytesIO()
            Image.fromarray(np.full((8, 8 * i, 3), 50 * i, np.uint8)).save(buf, format="PNG")
            txn.put(b"image-%09d" % i, buf.getvalue())
            txn.put(b"label-%09d" % i, text.encode("utf-8"))
        txn.put(b"num-samples", b"2")
    env.close()
    reader = open_dataset("lmdb", tmp_path / "db")
    crops = list(reader)
    assert len(reader) == 2 and [c.text for c in crops] == ["hello", "wörld"]
    assert crops[1].image.shape == (8, 16, 3)


# -------------------------------------------------------------------------------------------- manifest


def test_manifest_reader_yields_the_samples_of_its_lines(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "a.png", 20, 10)
    (tmp_path / "manifest.jsonl").write_text(
        '{"image": "images/a.png", "text": "abc"}\n\n{"image": "images/a.png", "text": "def"}\n', encoding="utf-8"
    )
    reader = open_dataset("manifest", tmp_path)
    assert len(reader) == 2 and reader.kind == "crop"
    assert [s.text for s in reader] == ["abc", "def"]


# ----------------------------------------------------------------------------------------------- crops


def test_crop_quad_rectifies_a_rotated_word_to_its_upright_size() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    angle = np.deg2rad(30)
    centre, half_w, half_h = np.array([50.0, 50.0]), 20.0, 6.0
    u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    quad = [
        centre - half_w * u - half_h * v,
        centre + half_w * u - half_h * v,
        centre + half_w * u + half_h * v,
        centre - half_w * u + half_h * v,
    ]
    import cv2

    cv2.fillPoly(image, [np.round(np.array(quad)).astype(np.int32)], (255, 255, 255))
    crop = crop_quad(image, [tuple(p) for p in quad])
    assert crop is not None and crop.shape == (12, 40, 3)
    assert crop[3:-3, 3:-3].mean() > 240  # the inside of the word is all ink: the warp found it
    # counter-clockwise order gives the same crop
    ccw = crop_quad(image, [tuple(p) for p in [quad[0], quad[3], quad[2], quad[1]]])
    assert ccw is not None and ccw.shape == crop.shape
