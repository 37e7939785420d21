"""Tests for textlens.io.atomic: outputs appear complete or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from textlens.errors import OutputError
from textlens.io import atomic_path, atomic_write_bytes, atomic_write_text


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_bytes_and_text_leave_only_the_target(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "héllo\nworld\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_bytes() == "héllo\nworld\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt"]


def test_new_files_get_normal_permissions(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "out.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_current_umask()


def test_replacing_keeps_the_old_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_atomic_path_keeps_the_extension_for_format_sniffing_writers(tmp_path: Path) -> None:
    target = tmp_path / "overlay.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp.name.startswith(".")
        Image.new("RGB", (4, 4), "red").save(tmp)  # Pillow picks PNG from the suffix
        assert not target.exists()
    assert Image.open(target).format == "PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.png"]


def test_failure_inside_the_block_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer crashed"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_os_error_inside_the_block_becomes_output_error(tmp_path: Path) -> None:
    with (
        pytest.raises(OutputError, match=r"out\.pdf: cannot write the file: No space left"),
        atomic_path(tmp_path / "out.pdf"),
    ):
        raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_raises_output_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"no_such_dir/out\.txt: cannot write the file"):
        atomic_write_text(tmp_path / "no_such_dir" / "out.txt", "x")


def test_target_that_is_a_folder_raises_output_error(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputError, match="taken"):
        atomic_write_bytes(tmp_path / "taken", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_every_writer_of_model_files_and_manifests_gives_normal_permissions(tmp_path: Path) -> None:
    """The trainers' exports, weights and manifests go through the same atomic writer (they were owner-only)."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from textlens.data.manifest import atomic_write_text as write_manifest_text
    from textlens.models.serialization import save_weights

    weights = tmp_path / "export" / "model.safetensors"
    save_weights(torch.nn.Linear(2, 3), weights, half=True)
    manifest = tmp_path / "new" / "folder" / "train.jsonl"
    write_manifest_text(manifest, "{}\n")
    expected = 0o666 & ~_current_umask()
    assert stat.S_IMODE(weights.stat().st_mode) == stat.S_IMODE(manifest.stat().st_mode) == expected
    assert load_file(str(weights))["weight"].dtype == torch.float16 and manifest.read_text() == "{}\n"
    assert sorted(p.name for p in weights.parent.iterdir()) == ["model.safetensors"]
