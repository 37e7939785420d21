"""Trust in `textlens read`: no output is lost or written over an input, special files stay what they are,
pages stream, a dead worker or a hostile PDF fails only its own input, and Ctrl-C stops at once."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.bad_inputs import minimal_pdf, multipage_pdf, page_image
from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.cli import read as read_cli
from textlens.cli.app import app
from textlens.cli.common import run_batch
from textlens.errors import CorruptImage, EmptyDocument, ImageTooLarge
from textlens.io import iter_pages
from textlens.io.atomic import PendingFile, atomic_write_text, is_temporary, remove_stale_temporaries
from textlens.io.limits import parse_page_ranges
from textlens.pipeline import OCR

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in models: the file handling is under test, not the models."""
    monkeypatch.setattr(
        read_cli, "build_ocr", lambda options: OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
    )


def good_page(path: Path, bars: int = 1) -> Path:
    image = np.full((80, 240, 3), 255, dtype=np.uint8)
    for i in range(bars):
        image[10 + 22 * i : 25 + 22 * i, 20:200] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def self_drawing_pdf() -> bytes:
    """A 600-byte PDF whose form XObject draws itself twice: PDFium's work doubles with every level."""
    form = b"/X Do /X Do"
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /X 4 0 R >> >>"
            b" /Contents 5 0 R >>",
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << /X 4 0 R >> >>"
            b" /Length %d >>\nstream\n%s\nendstream" % (len(form), form),
            b"<< /Length 5 >>\nstream\n/X Do\nendstream",
        ]
    )


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- outputs never meet


def test_same_name_in_two_folders_mirrors_the_folders_under_the_output(tmp_path: Path) -> None:
    a, b = good_page(tmp_path / "a" / "x.png"), good_page(tmp_path / "b" / "x.png", bars=2)
    result = runner.invoke(app, ["read", str(a), str(b), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert files_below(tmp_path / "out") == ["a/x.txt", "b/x.txt"]
    assert (tmp_path / "out/a/x.txt").read_text() != (tmp_path / "out/b/x.txt").read_text()


def test_same_stem_side_by_side_keeps_each_inputs_extension(tmp_path: Path) -> None:
    png = good_page(tmp_path / "in" / "x.png")
    Image.open(png).convert("RGB").save(tmp_path / "in" / "x.jpg")
    result = runner.invoke(app, ["read", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert files_below(tmp_path / "out") == ["x.jpg.json", "x.png.json"]


@pytest.mark.parametrize(
    ("args", "victim"),
    [
        (["{d}", "-o", "{d}", "-f", "overlay"], "scan.png"),  # cd scans && textlens read . -o . -f overlay
        (["{d}/scan.png", "-o", "{d}/scan.png", "-f", "overlay"], "scan.png"),
        (["{d}/doc.pdf", "-f", "pdf", "-o", "{d}"], "doc.pdf"),
        (["{d}/scan.png", "-o", "{d}/link.png", "-f", "overlay"], "scan.png"),  # through a link to the input
    ],
)
def test_an_output_that_would_replace_an_input_is_refused_with_exit_2(
    tmp_path: Path, args: list[str], victim: str
) -> None:
    good_page(tmp_path / "scan.png")
    (tmp_path / "doc.pdf").write_bytes(multipage_pdf([page_image()]))
    (tmp_path / "link.png").symlink_to(tmp_path / "scan.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = runner.invoke(app, ["read", *(a.format(d=tmp_path) for a in args)])
    assert result.exit_code == 2, result.output
    assert "would replace an input" in result.output
    assert victim in result.output or "link.png" in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


# ---------------------------------------------------------------- special files


def test_output_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    page = good_page(tmp_path / "page.png")
    real = tmp_path / "results" / "real.txt"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    result = runner.invoke(app, ["read", str(page), "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("aaaaa")


def test_output_to_a_fifo_is_written_through_and_the_fifo_stays(tmp_path: Path) -> None:
    page = good_page(tmp_path / "page.png")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = runner.invoke(app, ["read", str(page), "-o", str(fifo), "-f", "json"])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "aaaaa" in json.dumps(json.loads(received[0]))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making a device node needs root")
def test_output_to_a_character_device_is_written_through_and_the_node_stays(tmp_path: Path) -> None:
    page = good_page(tmp_path / "page.png")
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private twin of /dev/null
    result = runner.invoke(app, ["read", str(page), "-o", str(device), "-f", "pdf"])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "page.png"]


def test_dash_writes_a_binary_output_to_standard_output() -> None:
    # A real process: the PDF bytes must reach file descriptor 1 untouched.
    sample = REPO / "examples" / "sample.png"
    done = subprocess.run(
        [sys.executable, "-m", "textlens", "read", str(sample), "-f", "pdf", "-o", "-", "--detector", "morph_lines"],
        capture_output=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"%PDF-1.7") and done.stdout.rstrip().endswith(b"%%EOF")


def test_several_binary_outputs_cannot_share_standard_output(tmp_path: Path) -> None:
    pages = [str(good_page(tmp_path / f"p{i}.png")) for i in range(2)]
    result = runner.invoke(app, ["read", *pages, "-f", "pdf", "-o", "-"])
    assert result.exit_code == 2


# ---------------------------------------------------------------- temporaries


def test_stale_temporaries_are_removed_and_never_read_as_inputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / f".textlens-{dead.pid}-0123abcd.tmp.png"
    good_page(stale)
    alive = out / f".textlens-{os.getpid()}-89abcdef.tmp.txt"
    alive.write_text("another run is writing this")
    page = good_page(out / "page.png")
    assert is_temporary(stale) and not is_temporary(page)
    result = runner.invoke(app, ["read", str(out), "-o", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and alive.exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["page.json", "page.png"]
    assert remove_stale_temporaries(out) == []


def test_temporary_names_stay_short_for_long_file_names(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 245 + ".txt")
    pending = PendingFile(target)
    assert len(pending.tmp.name) < 40
    pending.discard()
    atomic_write_text(target, "kept")
    assert target.read_text() == "kept"


def test_non_utf8_file_names_are_written_by_every_writer(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    name = folder + b"/caf\xe9.png"  # Latin-1 bytes: not UTF-8
    good_page(Path(os.fsdecode(name)))
    out = tmp_path / "out"
    result = runner.invoke(app, ["read", os.fsdecode(name), "-o", str(out), "-f", "json,pdf,hocr,alto,tsv,text"])
    assert result.exit_code == 0, result.output
    written = {p.suffix for p in out.iterdir()}
    assert written == {".json", ".pdf", ".hocr", ".xml", ".tsv", ".txt"}
    document = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert document["pages"][0]["source"].endswith("caf\ufffd.png")


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize("option", [["--dpi", "0"], ["--max-pixels", "-1"], ["--pages", "0-3"], ["--max-pages", "0"]])
def test_nonsense_limits_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    result = runner.invoke(app, ["read", str(good_page(tmp_path / "p.png")), *option])
    assert result.exit_code == 2, result.output


def test_a_url_is_refused_with_a_clear_message() -> None:
    result = runner.invoke(app, ["read", "https://example.com/scan.png"])
    assert result.exit_code == 1
    assert "never downloads" in result.output


# ---------------------------------------------------------------- pages stream


def test_page_ranges_count_from_one() -> None:
    assert parse_page_ranges("1-3,9") == {0, 1, 2, 8}
    assert min(parse_page_ranges("7-")) == 6


def test_pages_are_read_one_at_a_time_and_only_the_selected_ones(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(multipage_pdf([page_image(seed=i) for i in range(5)]))
    seen: list[tuple[int, int]] = []
    engine = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
    document = engine.read(pdf, pages={1, 3}, on_page=lambda image, page: seen.append((image.index, page.index)))
    assert seen == [(1, 1), (3, 3)]
    assert [p.index for p in document.pages] == [1, 3]
    with pytest.raises(EmptyDocument, match="none of the selected pages"):
        engine.read(pdf, pages={10})


def test_overlays_of_selected_pages_are_named_by_their_page_number(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(multipage_pdf([page_image(seed=i) for i in range(4)]))
    result = runner.invoke(app, ["read", str(pdf), "--pages", "2,4", "-f", "overlay", "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("o-p*.png")) == ["o-p2.png", "o-p4.png"]


def test_page_limit_refuses_long_files_before_reading(tmp_path: Path) -> None:
    tif = tmp_path / "many.tif"
    frames = [page_image(seed=i) for i in range(6)]
    frames[0].save(tif, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageTooLarge, match="more than 4 pages"):
        next(iter_pages(tif, max_pages=4))
    assert [p.index for p in iter_pages(tif, max_pages=4, pages={4, 5})] == [4, 5]


# ---------------------------------------------------------------- hostile PDFs, dead workers, Ctrl-C


def test_a_self_drawing_pdf_fails_alone_within_its_time_limit(tmp_path: Path) -> None:
    hostile = tmp_path / "a_hostile.pdf"
    hostile.write_bytes(self_drawing_pdf())
    good = good_page(tmp_path / "b_good.png")
    started = time.monotonic()
    result = runner.invoke(app, ["read", str(hostile), str(good), "-o", str(tmp_path / "out"), "--pdf-timeout", "2"])
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.output
    assert "a_hostile.pdf: page 1 of 1" in result.output
    assert (tmp_path / "out" / "b_good.txt").read_text().startswith("aaaaa")
    with pytest.raises(CorruptImage):
        list(iter_pages(hostile, pdf_timeout=2))


def _die_on_b(path: Path) -> str:
    if path.name == "b":
        os.kill(os.getpid(), signal.SIGKILL)
    return path.name


def test_a_killed_worker_fails_only_its_input_and_the_batch_goes_on() -> None:
    items = [Path(name) for name in "abcdef"]
    results: dict[str, str] = {}
    report = run_batch(items, _die_on_b, jobs=2, on_result=lambda item, value: results.update({str(item): value}))
    assert report.exit_code == 1
    assert [item for item, _ in report.failed] == ["b"]
    assert "killed (SIGKILL)" in report.failed[0][1]
    assert sorted(results) == ["a", "c", "d", "e", "f"]


def test_ctrl_c_stops_a_run_stuck_in_a_pdf_at_once(tmp_path: Path) -> None:
    hostile = tmp_path / "stuck.pdf"
    hostile.write_bytes(self_drawing_pdf())
    process = subprocess.Popen(
        [sys.executable, "-m", "textlens", "read", str(hostile), "--pdf-memory", "16384", "--pdf-timeout", "600"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the whole group gets the signal, as from a terminal
    )
    # Wait until the PDF renderer runs (a second process in the group): a fixed sleep raced the start-up on a
    # loaded machine, and a signal in the middle of starting the renderer is not the case this test is about.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        group = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        if len(group) > 1:
            break
        time.sleep(0.2)
    time.sleep(1)  # the renderer busy with the page
    os.killpg(process.pid, signal.SIGINT)
    started = time.monotonic()
    try:
        process.wait(timeout=15)
    finally:
        with_children = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout
        os.killpg(process.pid, signal.SIGKILL) if with_children.strip() else None
    assert time.monotonic() - started < 10
    assert process.returncode != 0
    assert not with_children.strip(), "the renderer outlived Ctrl-C"


def test_preprocess_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    page = good_page(tmp_path / "scan.png")
    before = page.read_bytes()
    result = runner.invoke(app, ["preprocess", str(page), "-o", str(page)])
    assert result.exit_code == 2, result.output
    assert page.read_bytes() == before


def test_checkpoints_are_written_atomically_and_sweep_a_killed_runs_temporaries(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from textlens.train.callbacks import AtomicCheckpointIO

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".textlens-{dead.pid}-0badc0de.tmp.ckpt"
    stale.write_bytes(b"half a checkpoint")
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "last.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["state_dict"]["w"].tolist() == [1.0, 1.0]


def _memory_error_on_b(path: Path) -> str:
    if path.name == "b":
        raise MemoryError
    return path.name


@pytest.mark.parametrize("jobs", [1, 2])
def test_running_out_of_memory_fails_only_that_input(jobs: int) -> None:
    report = run_batch([Path(name) for name in "abc"], _memory_error_on_b, jobs=jobs)
    assert sorted(report.done) == ["a", "c"]
    assert [item for item, _ in report.failed] == ["b"] and "ran out of memory" in report.failed[0][1]
