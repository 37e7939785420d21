"""``--resume`` continues the data stream where the checkpoint left it, for every trainer (rec, det, glimpse);
its throughput counts the seconds before the checkpoint; options that conflict with the checkpoint are refused.

Each family trains a tiny model for a few CPU steps twice: once without a break, once stopped after K steps
and resumed; the batches the two see must be the same, one by one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from typer.testing import CliRunner  # noqa: E402

from tests.test_glimpse import N_IMAGES, N_VAL, _write_idx, fake_digits  # noqa: E402
from textlens.data.charset import Charset  # noqa: E402
from textlens.errors import ConfigError  # noqa: E402
from textlens.runtime.crops import CropSpec  # noqa: E402
from textlens.train.callbacks import Throughput  # noqa: E402
from textlens.train.data import LabelRules, TrainStream  # noqa: E402
from textlens.train.detection import DetectionSystem, DetTrainConfig, train_detector  # noqa: E402
from textlens.train.glimpse import GlimpseSystem, GlimpseTrainConfig, train_glimpse_model  # noqa: E402
from textlens.train.rec import RecTrainConfig, build_datamodule, resume_system, train_recognizer  # noqa: E402
from textlens.train.resume import resume_point, stream_warning  # noqa: E402
from textlens.train.sources import FakeSource  # noqa: E402
from textlens.train.system import RecognitionSystem  # noqa: E402

Key = Callable[[dict[str, Any]], str]
LATIN = Charset.from_spec("latin")


class Killed(Exception):
    """Stands for the training process being killed mid-run."""


def digest(*parts: Any) -> str:
    """One short hash of a batch's tensors and texts."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part.numpy().tobytes() if isinstance(part, torch.Tensor) else repr(part).encode())
    return h.hexdigest()[:16]


def record(monkeypatch: pytest.MonkeyPatch, system: type, key: Key, kill_at: int | None = None) -> list[str]:
    """The digest of every batch ``system`` trains on, in order; with ``kill_at``, the run dies at that step."""
    seen: list[str] = []
    original = system.training_step

    def training_step(self: Any, batch: dict[str, Any], batch_idx: int) -> Any:
        if kill_at is not None and self.global_step >= kill_at:
            raise Killed
        seen.append(key(batch))
        return original(self, batch, batch_idx)

    monkeypatch.setattr(system, "training_step", training_step)
    return seen


def quiet(*_: Any) -> None:
    """A log that keeps the test output clean."""


def resumed_copy(run: Path, name: str) -> Path:
    """A copy of ``run`` to resume, so that the original keeps its checkpoint for the other tests."""
    return Path(shutil.copytree(run, run.with_name(name)))


def assert_continues(full: list[str], before: list[str], resumed: list[str], at: int) -> None:
    assert len(set(full)) == len(full)  # every batch differs, so the comparison below means something
    assert before[:at] == full[:at]
    assert resumed == full[at:]  # batch by batch
    assert not set(resumed) & set(full[:at])  # nothing from before the checkpoint comes back


# ---------------------------------------------------------------- the stream itself


def _batches(stream: TrainStream, count: int, workers: int = 0) -> list[str]:
    loader = stream.loader(num_workers=workers)
    batches: Iterator[dict[str, Any]] = iter(loader)
    return [digest(b["images"], b["texts"]) for _, b in zip(range(count), batches, strict=False)]


def _stream() -> TrainStream:
    """Two indexed sources mixed 70/30, batches of 4, blocks of 2 batches."""
    sources = [FakeSource(n=12), FakeSource(n=10, seed=3, alphabet="xyz")]
    return TrainStream(sources, [0.7, 0.3], CropSpec(), LabelRules(LATIN, "ctc"), 4, seed=5, bucket_batches=2)


def test_the_stream_from_any_batch_is_the_tail_of_the_whole_one_with_any_number_of_workers() -> None:
    whole = _batches(_stream(), 9)
    assert len(set(whole)) == 9
    assert _batches(_stream(), 9, workers=2) == whole
    assert _batches(_stream().place(5), 4) == whole[5:]
    assert _batches(_stream().place(3), 6, workers=2) == whole[3:]


def test_ranks_draw_disjoint_blocks() -> None:
    rank0, rank1 = (_batches(_stream().place(0, rank, 2), 4) for rank in (0, 1))
    assert not set(rank0) & set(rank1)
    assert rank0[:2] == _batches(_stream(), 2)  # rank 0 of 2 takes the even blocks: block 0 first


def test_an_indexed_source_gives_every_item_once_per_pass() -> None:
    source = FakeSource(n=16, seed=2)
    stream = TrainStream([source], [1.0], CropSpec(), LabelRules(LATIN, "ctc"), batch_size=4, bucket_batches=2)
    texts = [t for _, batch in zip(range(8), iter(stream), strict=False) for t in batch["texts"]]
    first, second = texts[:16], texts[16:]
    assert sorted(first) == sorted(second) == sorted(source[i].text for i in range(16))
    assert first != second  # each pass in its own order


def test_throughput_checkpoints_hold_the_seconds_up_to_their_step(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 107.5, 110.0])
    monkeypatch.setattr("textlens.train.callbacks.time.perf_counter", lambda: next(clock))
    meter = Throughput()
    meter.load_state_dict({"samples": 40, "train_seconds": 20.0})  # a resumed run: 20 s before the checkpoint
    meter.on_train_start(None, None)  # type: ignore[arg-type]
    assert meter.state_dict() == {"samples": 40, "train_seconds": 27.5}  # mid-stretch: the running 7.5 s too
    meter.on_train_end(None, None)  # type: ignore[arg-type]
    assert meter.train_seconds == 30.0


# ---------------------------------------------------------------- recognition

REC: dict[str, Any] = {
    "data": ["fake:n=24,weight=0.5", "fake:n=20,seed=4,alphabet=xyz,weight=0.5"],
    "batch": 4,
    "val_every": 3,  # no --val: a checkpoint every 3 steps, taken while the clock runs
    "workers": 0,
    "device": "cpu",
    "precision": "fp32",
    "progress": False,
}
REC_STEPS, REC_CHECKPOINT, REC_KILLED = 10, 3, 5  # 10 steps cross a block (8 batches) boundary


def rec_key(batch: dict[str, Any]) -> str:
    return digest(batch["images"], batch["texts"])


@pytest.fixture(scope="module")
def rec_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A recogniser trained without a break, and one killed after its step-3 checkpoint, then resumed."""
    root = tmp_path_factory.mktemp("rec")
    runs: dict[str, Any] = {"killed_dir": root / "killed"}
    with pytest.MonkeyPatch.context() as mp:
        runs["full"] = record(mp, RecognitionSystem, rec_key)
        train_recognizer(RecTrainConfig(out=root / "full", steps=REC_STEPS, **REC), log=quiet)
    with pytest.MonkeyPatch.context() as mp:
        runs["before"] = record(mp, RecognitionSystem, rec_key, kill_at=REC_KILLED)
        with pytest.raises(Killed):
            train_recognizer(RecTrainConfig(out=runs["killed_dir"], steps=REC_STEPS, **REC), log=quiet)
    runs["resumed_dir"] = resumed_copy(runs["killed_dir"], "resumed")
    with pytest.MonkeyPatch.context() as mp:
        runs["resumed"] = record(mp, RecognitionSystem, rec_key)
        # Two loader workers where the first runs had none: the stream does not depend on them.
        cfg = RecTrainConfig(out=runs["resumed_dir"], steps=REC_STEPS, resume=True, **{**REC, "workers": 2})
        runs["summary"] = train_recognizer(cfg, log=quiet)
    return runs


def test_rec_resume_continues_the_stream_batch_by_batch(rec_runs: dict[str, Any]) -> None:
    assert len(rec_runs["full"]) == REC_STEPS and len(rec_runs["before"]) == REC_KILLED
    assert_continues(rec_runs["full"], rec_runs["before"], rec_runs["resumed"], REC_CHECKPOINT)


def test_rec_throughput_after_resume_counts_the_seconds_before_the_checkpoint(rec_runs: dict[str, Any]) -> None:
    blob = torch.load(rec_runs["killed_dir"] / "last.ckpt", weights_only=True)  # plain values and tensors only
    assert blob["global_step"] == REC_CHECKPOINT
    saved = blob["callbacks"]["Throughput"]
    assert saved["samples"] == REC_CHECKPOINT * 4 and saved["train_seconds"] > 0
    summary = json.loads((rec_runs["resumed_dir"] / "summary.json").read_text())
    assert summary["samples"] == REC_STEPS * 4 and summary["train_seconds"] > saved["train_seconds"]
    assert summary["samples_per_s"] == pytest.approx(summary["samples"] / summary["train_seconds"], rel=0.01)


def test_rec_resume_refuses_another_arch_or_too_few_steps(rec_runs: dict[str, Any]) -> None:
    out = rec_runs["killed_dir"]  # its last.ckpt is at step 3
    with pytest.raises(ConfigError, match=r"last\.ckpt.*--arch attn_mha conflicts.*crnn_small"):
        train_recognizer(RecTrainConfig(out=out, steps=REC_STEPS, resume=True, arch="attn_mha", **REC), log=quiet)
    for steps in (REC_CHECKPOINT - 1, 1):
        with pytest.raises(ConfigError, match=r"already reached step 3"):
            train_recognizer(RecTrainConfig(out=out, steps=steps, resume=True, **REC), log=quiet)
    with pytest.raises(ConfigError, match=r"--charset"):
        train_recognizer(RecTrainConfig(out=out, steps=9, resume=True, charset="digits", **REC), log=quiet)
    with pytest.raises(ConfigError, match=r"--finetune"):
        train_recognizer(RecTrainConfig(out=out, steps=9, resume=True, finetune="x", **REC), log=quiet)


def test_rec_resume_at_the_reached_step_only_finishes_the_run(rec_runs: dict[str, Any], tmp_path: Path) -> None:
    # A kill between the final checkpoint and the export: resuming with the same --steps exports it.
    out = tmp_path / "killed_before_export"
    shutil.copytree(rec_runs["killed_dir"], out)
    summary = train_recognizer(RecTrainConfig(out=out, steps=REC_CHECKPOINT, resume=True, **REC), log=quiet)
    assert summary["steps"] == REC_CHECKPOINT
    assert (out / "export" / "config.json").is_file() and (out / "summary.json").is_file()


def test_rec_cli_refusal_is_a_usage_error_naming_the_checkpoint(rec_runs: dict[str, Any]) -> None:
    from textlens.cli.train import app

    args = ["rec", "--data", "fake:n=8", "--out", str(rec_runs["killed_dir"]), "--steps", "2", "--resume"]
    result = CliRunner().invoke(app, [*args, "--no-progress", "--device", "cpu"])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "last.ckpt" in message and "already reached step 3" in message


def test_rec_resume_warns_when_the_data_options_change_the_stream(rec_runs: dict[str, Any]) -> None:
    point = resume_point(rec_runs["killed_dir"], REC_STEPS)
    same = RecTrainConfig(out=rec_runs["killed_dir"], steps=REC_STEPS, resume=True, **REC)
    system = resume_system(same, point)
    assert stream_warning(point, build_datamodule(same, system, "cpu"), 1) is None
    other = RecTrainConfig(out=same.out, steps=REC_STEPS, resume=True, **{**REC, "batch": 2, "seed": 1})
    warning = stream_warning(point, build_datamodule(other, system, "cpu"), 1)
    assert warning is not None and "batch_size 4 -> 2" in warning and "seed 0 -> 1" in warning


# ---------------------------------------------------------------- detection

DET: dict[str, Any] = {
    "arch": "db_tiny",
    "data": ["fake-pages:n=5,weight=2", "fake-pages:n=3,seed=9"],
    "batch": 2,
    "size": 96,
    "long_side": 256,
    "workers": 0,
    "val_every": 2,
    "device": "cpu",
    "precision": "fp32",
    "progress": False,
}
DET_STEPS, DET_CHECKPOINT = 5, 2


def det_key(batch: dict[str, Any]) -> str:
    return digest(batch["images"], batch["gt"])


@pytest.fixture(scope="module")
def det_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A detector trained for 5 steps, and one trained for 2 steps then resumed up to 5."""
    root = tmp_path_factory.mktemp("det")
    runs: dict[str, Any] = {"short_dir": root / "short"}
    with pytest.MonkeyPatch.context() as mp:
        runs["full"] = record(mp, DetectionSystem, det_key)
        train_detector(DetTrainConfig(out=root / "full", steps=DET_STEPS, **DET), log=quiet)
    with pytest.MonkeyPatch.context() as mp:
        runs["before"] = record(mp, DetectionSystem, det_key)
        train_detector(DetTrainConfig(out=runs["short_dir"], steps=DET_CHECKPOINT, **DET), log=quiet)
    resumed = resumed_copy(runs["short_dir"], "resumed")
    with pytest.MonkeyPatch.context() as mp:
        runs["resumed"] = record(mp, DetectionSystem, det_key)
        train_detector(DetTrainConfig(out=resumed, steps=DET_STEPS, resume=True, **{**DET, "workers": 1}), log=quiet)
    return runs


def test_det_resume_continues_the_stream_batch_by_batch(det_runs: dict[str, Any]) -> None:
    assert len(det_runs["full"]) == DET_STEPS
    assert_continues(det_runs["full"], det_runs["before"], det_runs["resumed"], DET_CHECKPOINT)


def test_det_resume_refuses_another_arch_or_too_few_steps(det_runs: dict[str, Any]) -> None:
    out = det_runs["short_dir"]
    with pytest.raises(ConfigError, match=r"last\.ckpt.*--arch db_small conflicts.*db_tiny"):
        train_detector(DetTrainConfig(out=out, steps=DET_STEPS, resume=True, **{**DET, "arch": "db_small"}))
    with pytest.raises(ConfigError, match=r"already reached step 2"):
        train_detector(DetTrainConfig(out=out, steps=DET_CHECKPOINT - 1, resume=True, **DET))


# ---------------------------------------------------------------- glimpse


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fake MNIST IDX files (the glimpse tests' bars-for-digits), validation images last."""
    import numpy as np

    folder = tmp_path_factory.mktemp("mnist")
    train, train_labels = fake_digits(N_IMAGES - N_VAL, value=100)
    val, val_labels = fake_digits(N_VAL, value=200, seed=1)
    _write_idx(folder / "train-images-idx3-ubyte.gz", np.concatenate([train, val]))
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.concatenate([train_labels, val_labels]))
    return folder


GLIMPSE_STEPS, GLIMPSE_CHECKPOINT = 6, 2


def glimpse_config(out: Path, mnist_dir: Path, steps: int, **extra: Any) -> GlimpseTrainConfig:
    return GlimpseTrainConfig(
        out=out,
        data=str(mnist_dir),
        steps=steps,
        batch=4,
        val_every=steps,
        val_size=4,
        holdout=N_VAL,
        mc_samples=0,
        device="cpu",
        progress=False,
        model={"hidden": 16},
        **extra,
    )


def glimpse_key(batch: dict[str, Any]) -> str:
    return digest(batch["images"], batch["targets"])


@pytest.fixture(scope="module")
def glimpse_runs(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> dict[str, Any]:
    """A RAM trained for 6 steps, and one trained for 2 steps then resumed up to 6."""
    root = tmp_path_factory.mktemp("glimpse")
    runs: dict[str, Any] = {"short_dir": root / "short"}
    with pytest.MonkeyPatch.context() as mp:
        runs["full"] = record(mp, GlimpseSystem, glimpse_key)
        train_glimpse_model(glimpse_config(root / "full", mnist_dir, GLIMPSE_STEPS), log=quiet)
    with pytest.MonkeyPatch.context() as mp:
        runs["before"] = record(mp, GlimpseSystem, glimpse_key)
        train_glimpse_model(glimpse_config(runs["short_dir"], mnist_dir, GLIMPSE_CHECKPOINT), log=quiet)
    resumed = resumed_copy(runs["short_dir"], "resumed")
    with pytest.MonkeyPatch.context() as mp:
        runs["resumed"] = record(mp, GlimpseSystem, glimpse_key)
        train_glimpse_model(glimpse_config(resumed, mnist_dir, GLIMPSE_STEPS, resume=True), log=quiet)
    return runs


def test_glimpse_resume_continues_the_stream_batch_by_batch(glimpse_runs: dict[str, Any]) -> None:
    assert len(glimpse_runs["full"]) == GLIMPSE_STEPS
    assert_continues(glimpse_runs["full"], glimpse_runs["before"], glimpse_runs["resumed"], GLIMPSE_CHECKPOINT)


def test_glimpse_resume_continues_at_the_sample_count_whatever_the_batch() -> None:
    from textlens.train.glimpse import resumed_samples
    from textlens.train.resume import ResumePoint

    counted = ResumePoint(Path("last.ckpt"), 3, {}, {"callbacks": {"Throughput": {"samples": 24}}})
    assert resumed_samples(counted, batch=4) == 24  # 3 steps of 8: a resume with --batch 4 starts at sample 24
    assert resumed_samples(ResumePoint(Path("last.ckpt"), 3, {}, {}), batch=8) == 24  # no count saved: steps × batch


def test_glimpse_resume_refuses_another_arch_or_too_few_steps(glimpse_runs: dict[str, Any], mnist_dir: Path) -> None:
    out = glimpse_runs["short_dir"]
    with pytest.raises(ConfigError, match=r"last\.ckpt.*--arch dram conflicts.*ram"):
        train_glimpse_model(glimpse_config(out, mnist_dir, GLIMPSE_STEPS, resume=True, arch="dram"), log=quiet)
    with pytest.raises(ConfigError, match=r"already reached step 2"):
        train_glimpse_model(glimpse_config(out, mnist_dir, GLIMPSE_CHECKPOINT - 1, resume=True), log=quiet)
