"""textlens batch: listing inputs, the local process pool (also with Ray missing), the Ray Data pipeline on a local
Ray of 2 CPUs, resuming by content hash, and bad files reported by name while the batch goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from textlens.batch.inputs import list_inputs, read_input
from textlens.batch.run import run_batch
from textlens.batch.work import BatchOptions, document_path
from textlens.errors import FileNotFound

ROOT = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TEXTS = ("Invoice 2041 paid", "Hello batch world", "Ray reads pages", "Shipped to Berlin")


def draw_page(path: Path, text: str) -> Path:
    font = ImageFont.truetype(str(FONT), 30) if FONT.is_file() else ImageFont.load_default(size=30)
    image = Image.new("RGB", (620, 150), "white")
    ImageDraw.Draw(image).text((24, 52), text, font=font, fill="black")
    image.save(path)
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pages")
    for i, text in enumerate(TEXTS):
        draw_page(folder / f"page{i}.png", text)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return folder


def words_of(out: Path, source: Path) -> str:
    from hashlib import sha256

    document = json.loads(document_path(out, sha256(source.read_bytes()).hexdigest()).read_text())
    return " ".join(w["text"] for b in document["pages"][0]["blocks"] for ln in b["lines"] for w in ln["words"])


def shard_lines(out: Path) -> list[dict]:
    return [json.loads(line) for shard in sorted((out / "shards").glob("*.jsonl")) for line in shard.open()]


def no_temporaries(out: Path) -> bool:
    return not [p for p in out.rglob("*") if p.name.startswith(".textlens-")]


def test_inputs_from_folders_globs_manifests_and_urls(tmp_path: Path, pages: Path) -> None:
    manifest = tmp_path / "list.txt"
    manifest.write_text(f"# scans\n{pages / 'page0.png'}\n\nrelative.png\n")
    listed = list_inputs([str(pages), str(pages / "page*.png"), str(manifest)])
    assert listed[:5] == [str(pages / n) for n in ("broken.png", "page0.png", "page1.png", "page2.png", "page3.png")]
    assert listed[5:] == [str(tmp_path / "relative.png")]  # kept, so the batch reports it missing
    with pytest.raises(FileNotFound, match=r"relative\.png: no such file"):
        read_input(listed[5])
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open("memory://scans/a.png", "wb") as f:
        f.write((pages / "page1.png").read_bytes())
    (url,) = list_inputs(["memory://scans"])
    assert url.startswith("memory://") and url.endswith("/scans/a.png")
    assert read_input(url) == (pages / "page1.png").read_bytes()
    with pytest.raises(FileNotFound):
        read_input("memory://scans/missing.png")


def test_the_local_pool_reads_reports_bad_files_and_resumes(tmp_path: Path, pages: Path) -> None:
    out = tmp_path / "out"
    options = BatchOptions(out=str(out), shard_size=3)
    seen: list[dict] = []
    summary = run_batch(
        [str(pages), str(tmp_path / "gone.png")], options, workers=2, engine="local", advance=seen.append
    )
    assert (summary.done, summary.skipped, summary.failed, summary.pages) == (4, 0, 2, 4)
    failures = {f["source"]: f for f in summary.failures}
    assert failures[str(pages / "broken.png")]["error"] == "CorruptImage"
    assert failures[str(tmp_path / "gone.png")]["message"].endswith("gone.png: no such file")
    assert len(seen) == 6 and words_of(out, pages / "page1.png") == "Hello batch world"
    lines = shard_lines(out)
    assert sorted(r["source"] for r in lines) == [str(pages / f"page{i}.png") for i in range(4)]
    assert len(list((out / "shards").glob("*.jsonl"))) == 2  # shards of at most 3 documents
    saved = json.loads((out / "runs" / f"{summary.run}.json").read_text())
    assert saved["done"] == 4 and saved["failed"] == 2 and no_temporaries(out)

    draw_page(tmp_path / "new.png", "One more page")
    again = run_batch([str(pages), str(tmp_path / "new.png")], options, workers=2, engine="local")
    assert (again.done, again.skipped, again.failed) == (1, 4, 1)
    assert words_of(out, tmp_path / "new.png") == "One more page" and len(shard_lines(out)) == 5


SYSTEM = {"worker_niceness": 0}  # as textlens.batch.ray_engine.connect starts a local Ray


def test_the_ray_pipeline_reads_resumes_and_reports_bad_files(tmp_path: Path, pages: Path) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False, _system_config=SYSTEM)
    try:
        out = tmp_path / "out"
        options = BatchOptions(out=str(out))
        inputs = [str(pages / "*.png"), str(tmp_path / "gone.png")]
        summary = run_batch(inputs, options, workers=2, engine="ray")
        assert summary.engine == "ray" and summary.workers == 2
        assert (summary.done, summary.skipped, summary.failed, summary.pages) == (4, 0, 2, 4)
        assert {f["error"] for f in summary.failures} == {"CorruptImage", "FileNotFound"}
        assert all(words_of(out, pages / f"page{i}.png") == text for i, text in enumerate(TEXTS))
        lines = shard_lines(out)
        assert len(lines) == 4 and all(line["document"]["pages"][0]["source"] == line["source"] for line in lines)
        assert no_temporaries(out)

        again = run_batch(inputs, options, workers=2, engine="ray")
        assert (again.done, again.skipped, again.failed) == (0, 4, 2) and len(shard_lines(out)) == 4
    finally:
        ray.shutdown()


BLOCK_RAY = (
    "import importlib.abc, sys\n"
    "class Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'ray':\n"
    "            raise ImportError(f'No module named {name!r}')\n"
    "sys.meta_path.insert(0, Block())\n"
    "import importlib.util\n"
    "importlib.util.find_spec = lambda name, *a: None if name == 'ray' else find_spec(name, *a)\n"
)


def run_cli_without_ray(*args: str) -> subprocess.CompletedProcess:
    code = (
        "import importlib.util\nfind_spec = importlib.util.find_spec\n"
        + BLOCK_RAY
        + "from textlens.cli.app import main\nsys.argv = ['textlens', 'batch', *sys.argv[1:]]\nmain()\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_without_ray_the_command_runs_on_a_process_pool(tmp_path: Path, pages: Path) -> None:
    out = tmp_path / "out"
    result = run_cli_without_ray(str(pages / "page2.png"), str(pages / "broken.png"), "--out", str(out), "-w", "1")
    assert result.returncode == 1, result.stderr  # one file failed
    assert "broken.png: not a valid PNG file" in result.stderr
    assert "1 read, 0 skipped (already done), 1 failed" in result.stderr and "on local with 1 workers" in result.stderr
    assert words_of(out, pages / "page2.png") == "Ray reads pages"
    asked = run_cli_without_ray(str(pages / "page2.png"), "--out", str(out), "--ray", "auto")
    assert asked.returncode == 2 and "pip install 'textlens[batch]'" in asked.stderr


def test_the_batch_package_imports_without_torch() -> None:
    from tests.test_torch_free import run_without_torch

    modules = ["textlens.batch.run", "textlens.batch.local", "textlens.batch.ray_engine", "textlens.cli.batch"]
    result = run_without_torch("\n".join(f"import {m}" for m in modules) + "\nprint('ok')")
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
