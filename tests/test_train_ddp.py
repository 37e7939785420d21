"""Distributed training: ``textlens train det --devices 2 --strategy ddp`` in two CPU processes (gloo), and the
data stream sharded so that no sample repeats across ranks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")


from textlens.data.charset import Charset
from textlens.data.samples import CropSample
from textlens.runtime.crops import CropSpec
from textlens.train.data import LabelRules, TrainStream
from textlens.train.sources import IndexedSource, render_text

ROOT = Path(__file__).resolve().parents[1]


class NumberedWords(IndexedSource):
    """``n`` crops whose texts all differ (w000, w001, ...), so a text names its sample."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __str__(self) -> str:
        return f"numbered:n={self.n}"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> CropSample:
        text = f"w{index:03d}"
        return CropSample(render_text(text), text, text)


def texts_of(stream: TrainStream, batches: int) -> list[str]:
    seen: list[str] = []
    for _, batch in zip(range(batches), stream.loader(num_workers=0), strict=False):
        seen.extend(batch["texts"])
    return seen


@pytest.mark.parametrize("ranks", [2, 3])
def test_the_stream_is_sharded_so_no_sample_repeats_across_ranks(ranks: int) -> None:
    """One pass over 48 samples in batches of 4 and blocks of 2 batches: 6 blocks, shared out among the ranks.
    Every sample comes exactly once, on exactly one rank."""
    source = NumberedWords(48)
    rules = LabelRules(Charset.from_spec("latin"), "ctc")
    per_rank = 12 // ranks  # batches of this rank in one pass

    def stream() -> TrainStream:
        return TrainStream([source], [1.0], CropSpec(), rules, 4, seed=7, bucket_batches=2)

    seen = [texts_of(stream().place(0, rank, ranks), per_rank) for rank in range(ranks)]
    everything = [t for rank in seen for t in rank]
    assert len(everything) == 48 and sorted(everything) == sorted(f"w{i:03d}" for i in range(48))
    for rank, texts in enumerate(seen):
        others = {t for other, ts in enumerate(seen) if other != rank for t in ts}
        assert not set(texts) & others, f"rank {rank} repeats samples of another rank"
    assert seen[0][:8] == texts_of(stream(), 2)  # rank 0 begins where a single process begins


def run_group(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group; past ``timeout`` every process of it (the ranks Lightning
    started too) is killed, so a stuck rank cannot keep the pipes open."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"the run took more than {timeout} s:\n{stderr[-3000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.ddp
def test_train_det_runs_ddp_in_two_cpu_processes(tmp_path: Path) -> None:
    """The command line as a user runs it: Lightning's launcher starts the second process, gloo joins them (the
    recogniser's ddp_spawn run is in test_train_rec.py)."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "textlens", "train", "det", "--arch", "db_tiny", "--data", "fake-pages:n=8",
               "--out", str(out), "--devices", "2", "--strategy", "ddp", "--device", "cpu", "--precision", "fp32",
               "--steps", "3", "--batch", "2", "--size", "128", "--workers", "0", "--no-progress",
               "--val-every", "1000"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = run_group(command, env, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr  # the second process joined
    summary = json.loads((out / "summary.json").read_text())
    assert summary["devices"] == 2 and summary["steps"] == 3
    assert summary["samples"] == 3 * 2 * 2  # each optimiser step took one batch on each rank
    assert (out / "export" / "model.onnx").is_file() and (out / "last.ckpt").is_file()
    assert result.stderr.count("exported to") == 1  # by rank 0 only (rank 1's output goes to the same stderr)


def test_num_nodes_reaches_the_trainer_and_counts_in_the_world_size(tmp_path: Path) -> None:
    from textlens.train.callbacks import step_trainer

    trainer = step_trainer(tmp_path, "cpu", "32-true", 10, None, 1.0, [], False, devices=1, strategy="ddp", num_nodes=2)
    assert trainer.num_nodes == 2
    assert trainer.world_size == 2  # one process per node here: the stream shards over both
