"""The whole hostile corpus through one real `textlens read` process under a memory cap, running out of
memory on one input, and kill -9 mid-batch.

Unlike tests/test_cli_read.py (in-process, stand-in models), these run the command (``python -m textlens``)
with its bundled models in a child process, as a user would: a bomb, a looping PDF or a crash in native code
shows up here as a dead process, a traceback or a missing output rather than as an exception a test can catch.
bench/reliability.py measures the same at length (every input alone, more kills, kills mid-training).
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.bad_inputs import (
    ACTION_MARKER,
    encode,
    make_bad_corpus,
    make_good_images,
    make_readable_hostile,
    page_image,
    progressive_jpeg_claiming_size,
)

#: Address space of the `textlens read` process (its PDF renderer lowers its own to --pdf-memory).
MEMORY_CAP = 3 << 30
#: Wall-time limit of the corpus run; it takes about 30 s on 2 cores.
CORPUS_TIMEOUT = 240
TEXTLENS = [sys.executable, "-m", "textlens"]


def capped(limit: int = MEMORY_CAP) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the child's address space, so a bomb fails there instead of taking the host."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def environment() -> dict[str, str]:
    """The child's environment: one thread per library (the machine has 2 cores), the repository importable."""
    repo = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".textlens-*"))


def assert_complete(path: Path) -> None:
    """``path`` is a whole output: JSON that parses to a document, or a PNG whose pixels all decode."""
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["pages"], path
    elif path.suffix == ".png":
        with Image.open(path) as im:
            im.load()
    else:
        assert path.is_file(), path  # a blank page's text output is empty: nothing more to check


# ---------------------------------------------------------------- the corpus in one batch


def test_the_whole_corpus_in_one_capped_batch_reports_every_bad_input_and_writes_every_good_one(
    tmp_path: Path,
) -> None:
    bad = make_bad_corpus(tmp_path / "bad")
    good = []
    for path in make_good_images(tmp_path / "good"):  # page.png, page.jpg, ...: give each its own stem
        good.append(path.rename(path.with_name(f"{path.suffix[1:]}_page{path.suffix}")))
    readable = make_readable_hostile(tmp_path / "hostile")
    assert len(bad) >= 60
    if os.path.lexists(ACTION_MARKER):
        os.unlink(ACTION_MARKER)
    out = tmp_path / "out"
    # The folder (what a user would pass) and every path in it: special files, missing paths and names
    # without an image extension are only read when named; duplicates are read once.
    inputs = [str(tmp_path / "bad"), *(str(p) for p, _ in bad), *map(str, good), *map(str, readable)]

    started = time.monotonic()
    result = subprocess.run(
        [*TEXTLENS, "read", *inputs, "-o", str(out), "-f", "json,text"],
        cwd=tmp_path,  # a `$(touch pwned)` in a file name would land here
        env=environment(),
        preexec_fn=capped(),
        capture_output=True,
        text=True,
        timeout=CORPUS_TIMEOUT,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    lines = output.splitlines()
    for path, _ in bad:
        naming = [line for line in lines if line.startswith(f"error {path}: ")]
        assert len(naming) == 1, f"{path.name}: {naming or output}"
    readable_count = len(good) + len(readable)
    assert f"{readable_count} done, {len(bad)} failed" in output
    expected = {
        out / folder / f"{path.stem}{ext}"
        for folder, paths in (("good", good), ("hostile", readable))
        for path in paths
        for ext in (".json", ".txt")
    }
    written = {p for p in out.rglob("*") if p.is_file()}
    assert written == expected  # no temporary, nothing for a bad input
    for path in written:
        assert_complete(path)
    assert not os.path.lexists(ACTION_MARKER), "a PDF action ran"
    assert not (tmp_path / "pwned").exists(), "a file name was run by a shell"
    assert seconds < CORPUS_TIMEOUT


@pytest.mark.parametrize("jobs", [1, 2])
def test_running_out_of_memory_on_one_input_fails_only_that_input(tmp_path: Path, jobs: int) -> None:
    # 1.5 KB of progressive JPEG that decodes to a 7000×7000 page (49 Mpx: under the default pixel limit).
    # Reading it peaks near 1.5 GB, so under a 1.5 GiB address-space cap one of its allocations fails.
    bomb = tmp_path / "progressive_7000x7000.jpg"
    bomb.write_bytes(progressive_jpeg_claiming_size(7000, 7000))
    good = tmp_path / "good.png"
    page_image(240, 160).save(good)
    result = subprocess.run(
        [*TEXTLENS, "read", str(bomb), str(good), "-o", str(tmp_path / "out"), "-f", "json", "-j", str(jobs)],
        env=environment(),
        preexec_fn=capped(3 << 29),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    # Whether the cap is met depends on the machine's allocator: the bomb fails alone, or it is read.
    failed = any(line.startswith(f"error {bomb}: ") for line in output.splitlines())
    assert result.returncode == (1 if failed else 0), output
    assert_complete(tmp_path / "out" / "good.json")


# ---------------------------------------------------------------- kill -9 mid-batch

PAGES = 30


def dead_pid() -> int:
    """The id of a process that has ended (to name temporaries as a killed run leaves them)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def make_pages(folder: Path, count: int = PAGES) -> list[Path]:
    """``count`` small distinct pages, plus a hidden PNG named like a textlens temporary (never an input)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for i in range(count):
        path = folder / f"p{i:02d}.png"
        page_image(360, 240, seed=i).save(path)
        pages.append(path)
    (folder / f".textlens-{dead_pid()}-0123abcd.tmp.png").write_bytes(encode(page_image(), "PNG"))
    return pages


def read_batch(pages: Path, out: Path, jobs: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TEXTLENS, "read", str(pages), "-o", str(out), "-f", "json,overlay", "-j", str(jobs)],
        env=environment(),
        preexec_fn=capped(),
        start_new_session=True,  # its own process group: the kill takes the workers and the renderer too
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_after_outputs(process: subprocess.Popen[str], out: Path, outputs: int, pause: float) -> int:
    """SIGKILL ``process``'s whole group ``pause`` seconds after ``outputs`` JSON files exist; returns how many did."""
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.json"))) < outputs:
        assert process.poll() is None, f"the batch ended before it could be killed: {process.communicate()[0]}"
        assert time.monotonic() < deadline, "no outputs appeared"
        time.sleep(0.01)
    time.sleep(pause)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return len(list(out.glob("*.json")))


@pytest.mark.parametrize("jobs", [1, 2])
def test_kill_9_mid_batch_leaves_no_half_written_output_and_the_next_run_cleans_up(tmp_path: Path, jobs: int) -> None:
    pages = make_pages(tmp_path / "pages")
    out = tmp_path / "out"
    process = read_batch(tmp_path / "pages", out, jobs)
    written = kill_after_outputs(process, out, outputs=3, pause=random.Random(jobs).uniform(0, 0.3))
    assert process.returncode == -signal.SIGKILL
    assert 3 <= written < PAGES, "the kill must land mid-batch"
    for path in out.iterdir():
        if not path.name.startswith("."):
            assert_complete(path)  # what is there is whole: outputs appear only by an atomic rename
    stale = out / f".textlens-{dead_pid()}-89abcdef.tmp.json"
    stale.write_text('{"pages": [')  # a temporary as a killed writer leaves it, half-written

    rerun = subprocess.run(
        [*TEXTLENS, "read", str(tmp_path / "pages"), "-o", str(out), "-f", "json,overlay", "-j", str(jobs)],
        env=environment(),
        preexec_fn=capped(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output
    assert f"{PAGES} done, 0 failed" in output  # the hidden temporary-named PNG among the pages was not read
    assert temporaries(out) == []  # the killed run's temporaries and the planted one are gone
    for page in pages:
        for ext in (".json", ".png"):
            assert_complete(out / f"{page.stem}{ext}")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}{e}" for p in pages for e in (".json", ".png"))
