"""Reliability bench: hostile inputs, kill -9 mid-batch and mid-training, memory against the page count.

    python -m bench.reliability [--quick] [--out bench/results/reliability-<date>.md] [--seed 0]

Not part of the test suite (tests/test_reliability_corpus.py is the CI-sized version). Every measurement runs
the installed command (``python -m textlens``) in a fresh process under a 3 GiB address-space cap, as CI does:

(a) every input of the corpus (tests/bad_inputs.py: bad inputs, hostile files that must still read, and the
    good pages) read alone: exit code, seconds, peak RSS and the error line;
(b) the whole corpus as one batch, with ``-j 1`` and ``-j 2``: the summary line;
(c) kill -9 of the whole process group at seeded random moments of a 30-page batch (30 PNG files with ``-j 1``
    and ``-j 2``, and one 30-page PDF), each followed by a rerun: outputs lost, half-written (JSON that does not
    parse, PNG that does not decode) and temporaries left;
(d) kill -9 at random moments of a tiny ``textlens train rec`` run that checkpoints every few steps, resumed
    with ``--resume`` each time: the batches the model trained on, compared one by one with an uninterrupted
    run (replayed and skipped batches), and the checkpoints (half-written, stale temporaries);
(e) one PDF of 50 and of 500 small text pages at 200 dpi: seconds and peak RSS, which must stay flat in the
    page count.

Peak RSS is that of the largest process of the tree (``wait4``'s ``ru_maxrss``: the command and every child
it waited for, e.g. the PDF renderer), and, sampled every 50 ms with psutil, the sum over the live tree.
Prints a markdown report and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench`, `tests` and `textlens` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bad_inputs import (
    _HOSTILE_FILES,
    _WRITTEN_FILES,
    make_bad_corpus,
    make_good_images,
    make_readable_hostile,
    minimal_pdf,
    page_image,
    pdf_stream,
    progressive_jpeg_claiming_size,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
#: Address space of every command measured (the PDF renderer lowers its own to --pdf-memory, 1536 MiB).
MEMORY_CAP = 3 << 30
TEXTLENS = [sys.executable, "-m", "textlens"]
#: The tiny recogniser run of (d): two fake sources, batches of 4, a checkpoint every 5 steps (no --val).
TRAIN_ARGS = [
    "--data",
    "fake:n=24,weight=0.5",
    "--data",
    "fake:n=20,seed=4,alphabet=xyz,weight=0.5",
    "--batch",
    "4",
    "--val-every",
    "5",
    "--workers",
    "0",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--no-progress",
]
TRAIN_STEPS = 80
SUMMARY = re.compile(r"^\d+ done, \d+ failed$")


# ---------------------------------------------------------------- running one command


@dataclass
class Run:
    """What one command did: its exit code (negative: killed by that signal), time, memory and output."""

    exit_code: int
    seconds: float
    peak_mb: float  # the largest process of the tree (ru_maxrss of the command and its waited-for children)
    tree_mb: float  # the live tree's total, sampled
    output: str

    def error_line(self) -> str:
        return next((line for line in self.output.splitlines() if line.startswith("error ")), "")

    def summary_line(self) -> str:
        return next((line for line in reversed(self.output.splitlines()) if SUMMARY.match(line)), "")

    def crash(self) -> str:
        """The exception that ended the command, as the last lines of its traceback say ("" if none)."""
        if "Traceback" not in self.output:
            return ""
        lines = self.output.rstrip().splitlines()
        box_end = max((i for i, line in enumerate(lines) if line.startswith("╰")), default=len(lines) - 2)
        return " ".join(line.strip() for line in lines[box_end + 1 :])[-300:]


def environment() -> dict[str, str]:
    """The commands' environment: the repository importable (``bench``, ``tests`` and ``textlens``), and one
    thread per library, so that ``-j 2`` on a small machine is two processes rather than four threads
    fighting for two cores (torch with two threads on two busy cores ran the training 4× slower)."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _sample_tree(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Keep the largest total RSS of ``pid`` and its descendants in ``peak[0]`` (bytes) until ``stop``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for process in processes:
            with contextlib.suppress(psutil.Error):  # it may end between listing and reading
                total += process.memory_info().rss
        peak[0] = max(peak[0], total)
        stop.wait(0.05)


def run(
    command: Sequence[str],
    cwd: Path,
    timeout: float = 600,
    kill: Callable[[float], bool] | None = None,
) -> Run:
    """Run ``command`` in its own process group under the memory cap and measure it.

    ``kill(elapsed)`` is polled every 10 ms: when it returns True the whole group gets SIGKILL (the command,
    its workers and its PDF renderer at once, as an out-of-memory killer or a power cut would).
    """
    log = cwd / f".run-{time.monotonic_ns()}.log"
    with open(log, "wb") as sink:
        started = time.monotonic()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=environment(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_cap,
            start_new_session=True,
        )
        stop, tree = threading.Event(), [0.0]
        sampler = threading.Thread(target=_sample_tree, args=(process.pid, stop, tree), daemon=True)
        sampler.start()
        killed = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.monotonic() - started
            if not killed and (elapsed > timeout or (kill is not None and kill(elapsed))):
                os.killpg(process.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.01)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
        if killed:  # a member of the group that was starting at the kill (a new worker) goes too
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
    output = log.read_text(encoding="utf-8", errors="replace")
    log.unlink()
    return Run(process.returncode, seconds, usage.ru_maxrss / 1024, tree[0] / 2**20, output)


def read_command(inputs: Sequence[str | Path], out: Path, formats: str = "json", jobs: int = 1) -> list[str]:
    return [*TEXTLENS, "read", *map(str, inputs), "-o", str(out), "-f", formats, "-j", str(jobs)]


# ---------------------------------------------------------------- checking outputs


def complete(path: Path) -> bool:
    """Whether ``path`` is a whole output: JSON that parses to a document, a PNG whose pixels decode."""
    try:
        if path.suffix == ".json":
            return bool(json.loads(path.read_text(encoding="utf-8"))["pages"])
        if path.suffix == ".png":
            from PIL import Image

            with Image.open(path) as im:
                im.load()
            return True
        return path.is_file()  # a blank page's text output is empty: nothing to check
    except Exception:  # any failure to parse is what is being counted
        return False


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".textlens-*") if p.is_file()] if folder.exists() else []


def visible_outputs(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")] if folder.exists() else []


# ---------------------------------------------------------------- markdown


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    def cell(key: str, value: Any) -> str:
        if isinstance(value, float):
            decimals = 0 if key.endswith("_mb") or key.endswith("_kb") else 2 if key == "per_page" else 1
            return f"{value:.{decimals}f}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(cell(key, row.get(key, "")) for key, _ in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _short(line: str, source: Path | None = None, limit: int = 150) -> str:
    if source is not None:
        line = line.replace(f"error {source}: ", "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ---------------------------------------------------------------- (a) one input at a time


@dataclass
class Corpus:
    """The inputs of (a) and (b): bad ones with their expected error, hostile readable ones, good pages."""

    bad: list[tuple[Path, str]]
    readable: list[Path]
    good: list[Path]
    folder: Path

    def batch_inputs(self) -> list[str]:
        # The folder (what a user passes) and every path in it: special files and names without an image
        # extension are read only when named; duplicates are read once.
        return [str(self.folder / "bad"), *(str(p) for p, _ in self.bad), *map(str, self.readable + self.good)]


def make_corpus(folder: Path) -> Corpus:
    bad = [(path, error.__name__) for path, error in make_bad_corpus(folder / "bad")]
    readable = make_readable_hostile(folder / "hostile")
    heavy = folder / "hostile" / "progressive_7000x7000.jpg"  # 1.5 KB that decodes to a 49-Mpx page
    heavy.write_bytes(progressive_jpeg_claiming_size(7000, 7000))
    readable.append(heavy)
    good = [p.rename(p.with_name(f"{p.suffix[1:]}_page{p.suffix}")) for p in make_good_images(folder / "good")]
    return Corpus(bad, readable, good, folder)


def one_at_a_time(corpus: Corpus, work: Path, quick: bool) -> list[dict[str, Any]]:
    """(a): every input read alone by a fresh command."""
    new_kinds = set(_HOSTILE_FILES) | set(_WRITTEN_FILES)
    cases: list[tuple[Path, str]] = [(p, e) for p, e in corpus.bad if not quick or p.name in new_kinds]
    cases += [(p, "reads") for p in corpus.readable] + [(p, "reads (good page)") for p in corpus.good]
    rows = []
    for index, (path, expected) in enumerate(cases):
        out = work / f"a{index}"
        result = run(read_command([path], out), work, timeout=300)
        bad = expected not in ("reads", "reads (good page)")
        fine = (
            result.exit_code == (1 if bad else 0)
            and "Traceback" not in result.output
            and temporaries(out) == []
            and (bad or all(complete(p) for p in visible_outputs(out)))
        )
        rows.append(
            {
                "input": f"`{path.parent.name}/{path.name}`",
                "expected": expected,
                "exit": result.exit_code,
                "seconds": result.seconds,
                "peak_mb": result.peak_mb,
                "tree_mb": result.tree_mb,
                "ok": "yes" if fine else "**NO**",
                "error": _short(result.error_line(), path) if bad else "",
            }
        )
        print(
            f"  (a) {path.name}: exit {result.exit_code}, {result.seconds:.1f} s, {result.peak_mb:.0f} MB", flush=True
        )
        shutil.rmtree(out, ignore_errors=True)
    return rows


A_COLUMNS = [
    ("input", "input"),
    ("expected", "expected"),
    ("exit", "exit"),
    ("seconds", "s"),
    ("peak_mb", "peak RSS MB"),
    ("tree_mb", "tree RSS MB (sampled)"),
    ("ok", "as expected"),
    ("error", "error line"),
]


# ---------------------------------------------------------------- (b) the whole corpus as one batch


def whole_batch(corpus: Corpus, work: Path) -> list[dict[str, Any]]:
    rows = []
    inputs = corpus.batch_inputs()
    for jobs in (1, 2):
        out = work / f"b{jobs}"
        result = run(read_command(inputs, out, "json,text", jobs), work, timeout=600)
        named = sum(
            1
            for path, _ in corpus.bad
            if any(line.startswith(f"error {path}: ") for line in result.output.splitlines())
        )
        outputs = visible_outputs(out)
        rows.append(
            {
                "jobs": jobs,
                "inputs": f"{len(corpus.bad)} bad + {len(corpus.readable) + len(corpus.good)} readable",
                "exit": result.exit_code,
                "seconds": result.seconds,
                "peak_mb": result.peak_mb,
                "tree_mb": result.tree_mb,
                "summary": result.summary_line(),
                "named": f"{named}/{len(corpus.bad)}",
                "complete": f"{sum(complete(p) for p in outputs)}/{len(outputs)}",
                "temps": len(temporaries(out)),
                "tracebacks": result.output.count("Traceback"),
                "crash": _short(result.crash()),
            }
        )
        print(f"  (b) -j {jobs}: {rows[-1]['summary']}, {result.seconds:.1f} s", flush=True)
        shutil.rmtree(out, ignore_errors=True)
    return rows


B_COLUMNS = [
    ("jobs", "-j"),
    ("inputs", "inputs"),
    ("exit", "exit"),
    ("seconds", "s"),
    ("peak_mb", "peak RSS MB"),
    ("tree_mb", "tree RSS MB (sampled)"),
    ("summary", "summary line"),
    ("named", "bad inputs named"),
    ("complete", "outputs complete"),
    ("temps", "temporaries left"),
    ("tracebacks", "tracebacks"),
    ("crash", "ended by"),
]


# ---------------------------------------------------------------- (c) kill -9 mid-batch


def text_pdf(pages: int, width: float = 298, height: float = 420, lines: int = 8) -> bytes:
    """A PDF of ``pages`` small pages (A6 by default) of Helvetica text, a few hundred bytes each."""
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 %g %g] /Resources %s >>"
        % (kids, pages, width, height, font),
    ]
    rng = random.Random(pages)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs", "while", "seven", "wizards", "box"]
    for i in range(pages):
        text = b"BT /F1 11 Tf 24 %g Td 15 TL " % (height - 40)
        text += b"(Page %d) Tj T* " % (i + 1)
        for _ in range(lines):
            text += b"(%s) Tj T* " % " ".join(rng.choices(words, k=5)).encode()
        objects += [b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % (4 + 2 * i), pdf_stream(text + b"ET")]
    return minimal_pdf(objects)


@dataclass
class KillCase:
    name: str
    inputs: Path  # a folder of pages or one PDF
    expected: list[str]  # output names a complete run writes
    jobs: int


def kill_cases(work: Path, pages: int = 30) -> list[KillCase]:
    folder = work / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        page_image(480, 320, seed=i).save(folder / f"p{i:02d}.png")
    pdf = work / "pages.pdf"
    pdf.write_bytes(text_pdf(pages, width=210, height=298, lines=6))  # A7: the kills need no large pages
    names = [f"p{i:02d}{ext}" for i in range(pages) for ext in (".json", ".png")]
    pdf_names = ["pages.json", *(f"pages-p{i + 1}.png" for i in range(pages))]
    return [
        KillCase(f"{pages} PNG pages", folder, names, 1),
        KillCase(f"{pages} PNG pages", folder, names, 2),
        KillCase(f"one {pages}-page PDF", pdf, pdf_names, 1),
    ]


def kills_mid_batch(work: Path, kills: int, rng: random.Random) -> list[dict[str, Any]]:
    """(c): each case run once whole (its duration bounds the kill moments), then ``kills`` times killed and rerun."""
    rows = []
    for case in kill_cases(work):
        clean = run(read_command([case.inputs], work / "c-clean", "json,overlay", case.jobs), work)
        assert clean.exit_code == 0, clean.output
        whole = sorted(p.name for p in visible_outputs(work / "c-clean"))
        if whole != sorted(case.expected):
            raise RuntimeError(f"{case.name}: unexpected outputs {whole[:5]}…")
        shutil.rmtree(work / "c-clean")
        counts = {"present": [], "half": 0, "left": 0, "lost": 0, "half_after": 0, "left_after": 0, "reruns": set()}
        moments = []
        for _ in range(kills):
            moment = rng.uniform(0.15, 0.95) * clean.seconds
            moments.append(moment)
            out = work / "c-out"
            command = read_command([case.inputs], out, "json,overlay", case.jobs)
            killed = run(command, work, kill=lambda elapsed, at=moment: elapsed >= at)
            present = visible_outputs(out)
            counts["present"].append(len(present))
            counts["half"] += sum(not complete(p) for p in present)
            counts["left"] += len(temporaries(out))
            if killed.exit_code != -signal.SIGKILL:
                counts["reruns"].add(f"finished before the kill ({killed.exit_code})")
            rerun = run(read_command([case.inputs], out, "json,overlay", case.jobs), work)
            counts["reruns"].add(str(rerun.exit_code))
            names = {p.name for p in visible_outputs(out)}
            counts["lost"] += sum(name not in names for name in case.expected)
            counts["half_after"] += sum(not complete(p) for p in visible_outputs(out))
            counts["left_after"] += len(temporaries(out))
            shutil.rmtree(out, ignore_errors=True)
        rows.append(
            {
                "case": case.name,
                "jobs": case.jobs,
                "whole_s": clean.seconds,
                "kills": kills,
                "moments": ", ".join(f"{m:.1f}" for m in moments),
                "present": ", ".join(map(str, counts["present"])),
                "half": counts["half"],
                "left": counts["left"],
                "reruns": ", ".join(sorted(counts["reruns"])),
                "lost": counts["lost"],
                "half_after": counts["half_after"],
                "left_after": counts["left_after"],
            }
        )
        print(f"  (c) {case.name} -j {case.jobs}: {rows[-1]}", flush=True)
    return rows


C_COLUMNS = [
    ("case", "batch"),
    ("jobs", "-j"),
    ("whole_s", "uninterrupted s"),
    ("kills", "kills"),
    ("moments", "kill moments (s)"),
    ("present", "outputs present after each kill"),
    ("half", "half-written after kill"),
    ("left", "temporaries left by kill"),
    ("reruns", "rerun exit"),
    ("lost", "lost after rerun"),
    ("half_after", "half-written after rerun"),
    ("left_after", "temporaries after rerun"),
]


# ---------------------------------------------------------------- (d) kill -9 mid-training, --resume


def train_child(log_path: str, args: list[str]) -> None:
    """Run ``textlens train rec ARGS``, appending ``<global step> <batch digest>`` per training batch to the log.

    The digest is what tests/test_train_resume.py compares: the batch's image tensor and texts. The line is
    written (line-buffered) before the step runs, so a kill -9 loses no line of a batch that was trained on.
    """
    import torch

    from textlens.cli.app import app
    from textlens.train.system import RecognitionSystem

    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open until the process ends
    original = RecognitionSystem.training_step

    def training_step(self: Any, batch: dict[str, Any], batch_idx: int) -> Any:
        h = hashlib.sha1()
        for part in (batch["images"], batch["texts"]):
            h.update(part.numpy().tobytes() if isinstance(part, torch.Tensor) else repr(part).encode())
        log.write(f"{self.global_step} {h.hexdigest()[:16]}\n")
        return original(self, batch, batch_idx)

    RecognitionSystem.training_step = training_step  # type: ignore[method-assign]
    app(args=["train", "rec", *args], prog_name="textlens")


def _train_command(log: Path, out: Path, resume: bool) -> list[str]:
    args = [*TRAIN_ARGS, "--steps", str(TRAIN_STEPS), "--out", str(out), *(["--resume"] if resume else [])]
    code = "import sys; from bench.reliability import train_child; train_child(sys.argv[1], sys.argv[2:])"
    return [sys.executable, "-c", code, str(log), *args]


def _logged(log: Path) -> list[tuple[int, str]]:
    entries = []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            step, _, digest = line.partition(" ")
            if step.isdigit() and len(digest) == 16:  # a line cut by the kill is ignored
                entries.append((int(step), digest))
    return entries


def _checkpoint_step(out: Path) -> tuple[int | None, bool]:
    """The step ``out/last.ckpt`` reached (None: no checkpoint) and whether it loads whole."""
    import torch

    path = out / "last.ckpt"
    if not path.exists():
        return None, True
    try:
        return int(torch.load(path, weights_only=True, map_location="cpu")["global_step"]), True
    except Exception:  # a checkpoint that does not load is what is being counted
        return None, False


def _stale_checkpoint_temporaries(out: Path) -> set[str]:
    """The checkpoint writer's temporaries (``.last.ckpt.<pid>.tmp``) in ``out``."""
    return {p.name for p in out.glob(".*.tmp")}


def kills_mid_training(work: Path, kills: int, rng: random.Random) -> dict[str, Any]:
    """(d): an uninterrupted run, then a run killed ``kills`` times (each at a random logged step plus a random
    pause) and resumed each time; the batches behind the final model compared with the uninterrupted run's."""
    full_log = work / "full.log"
    full = run(_train_command(full_log, work / "t-full", False), work, timeout=600)
    if full.exit_code != 0:
        raise RuntimeError(f"the uninterrupted training run failed: {full.output[-2000:]}")
    reference = [digest for _, digest in _logged(full_log)]
    out = work / "t-killed"
    segments: list[tuple[int, list[tuple[int, str]]]] = []  # (step resumed from, batches logged)
    kill_steps: list[int] = []
    failures: list[str] = []
    half, stale = 0, set()
    start = 0
    for segment in range(kills + 1):
        log = work / f"segment{segment}.log"
        # The kill lands after a random number of this run's batches (at most half of what is left, so that
        # every kill finds training to interrupt), plus a random pause of up to about two steps: mid-step,
        # mid-checkpoint or between them. A kill after the last step is case (d2).
        remaining = TRAIN_STEPS - start
        target = rng.randint(1, max(1, (remaining - 5) // 2)) if segment < kills and remaining > 6 else None
        pause = rng.uniform(0, 0.15)
        fired: list[float] = []

        def kill(
            elapsed: float,
            log: Path = log,
            target: int | None = target,
            pause: float = pause,
            fired: list[float] = fired,
        ) -> bool:
            if target is None:
                return False
            if not fired and len(_logged(log)) >= target:
                fired.append(elapsed)
            return bool(fired) and elapsed >= fired[0] + pause

        result = run(_train_command(log, out, resume=start > 0), work, timeout=600, kill=kill)
        entries = _logged(log)
        segments.append((start, entries))
        if target is not None:
            kill_steps.append(entries[-1][0] if entries else start)
        elif result.exit_code != 0:
            failures.append(result.output[-1500:])
        step, whole = _checkpoint_step(out)
        half += not whole
        stale |= _stale_checkpoint_temporaries(out)
        start = step or 0
        if target is None:
            break
    effective: list[str] = []
    redone = 0
    for index, (begin, entries) in enumerate(segments):
        end = segments[index + 1][0] if index + 1 < len(segments) else TRAIN_STEPS
        effective += [digest for step, digest in entries if begin <= step < end]
        redone += sum(1 for step, _ in entries if step >= end)
    # Counted as multisets: the fake data repeats an identical batch now and then, in the uninterrupted run too.
    trained, expected = Counter(effective), Counter(reference)
    replayed = sum((trained - expected).values())  # trained on more often than without the kills
    skipped = sum((expected - trained).values())  # never trained on
    exported = (out / "summary.json").is_file() and (out / "export" / "model.safetensors").is_file()
    left = _stale_checkpoint_temporaries(out)
    return {
        "steps": TRAIN_STEPS,
        "kills": len(kill_steps),
        "kill_steps": ", ".join(map(str, kill_steps)),
        "resumed_from": ", ".join(str(begin) for begin, _ in segments[1:]),
        "distinct": f"{len(set(reference))}/{len(reference)}",
        "trained": len(effective),
        "same": "yes" if effective == reference else "**no**",
        "replayed": replayed,
        "skipped": skipped,
        "redone": redone,
        "half": half,
        "stale": f"{len(stale)} ({len(left)} still there at the end)",
        "finished": "yes" if exported and not failures else f"**no** {' '.join(failures)[-300:]}",
        "full_s": full.seconds,
    }


D_COLUMNS = [
    ("steps", "steps"),
    ("kills", "kills"),
    ("kill_steps", "killed at step"),
    ("resumed_from", "resumed from checkpoint step"),
    ("distinct", "distinct batches (uninterrupted)"),
    ("trained", "batches behind the final model"),
    ("same", "same batches, same order"),
    ("replayed", "replayed"),
    ("skipped", "skipped"),
    ("redone", "steps redone (after the last checkpoint)"),
    ("half", "half-written checkpoints"),
    ("stale", "stale checkpoint temporaries"),
    ("finished", "finished and exported"),
]


def kill_before_export(work: Path) -> dict[str, Any]:
    """(d2): kill -9 right after the final checkpoint is written, before the export and summary; then
    ``--resume`` with the same ``--steps``, as a user would to finish the run."""
    out, log = work / "t-end", work / "end.log"
    seen_end: list[float] = []

    def kill(elapsed: float) -> bool:
        checkpoint = out / "last.ckpt"
        if not seen_end and len(_logged(log)) >= TRAIN_STEPS:
            seen_end.append(time.time())  # the last batch is being trained
        return bool(seen_end) and checkpoint.exists() and checkpoint.stat().st_mtime > seen_end[0]

    killed = run(_train_command(log, out, resume=False), work, timeout=600, kill=kill)
    step, whole = _checkpoint_step(out)
    exported = (out / "export" / "model.safetensors").is_file()
    resumed = run(_train_command(work / "end-resume.log", out, resume=True), work, timeout=600)
    message = next((line.strip() for line in resumed.output.splitlines() if "already reached" in line), "")
    return {
        "killed": "yes" if killed.exit_code == -signal.SIGKILL else f"no (exit {killed.exit_code})",
        "checkpoint": f"step {step}" + ("" if whole else " (half-written)"),
        "exported": "yes" if exported else "no",
        "resume_exit": resumed.exit_code,
        "resume_exported": "yes" if (out / "export" / "model.safetensors").is_file() else "no",
        "message": _short(" ".join(resumed.output.split())[-240:]) if not message else _short(message),
    }


D2_COLUMNS = [
    ("killed", "killed by SIGKILL"),
    ("checkpoint", "last.ckpt after the kill"),
    ("exported", "export/ after the kill"),
    ("resume_exit", "`--resume` exit"),
    ("resume_exported", "export/ after `--resume`"),
    ("message", "`--resume` says"),
]


# ---------------------------------------------------------------- (e) memory against the page count


def long_pdfs(work: Path, counts: Sequence[int]) -> list[dict[str, Any]]:
    rows = []
    for pages in counts:
        pdf = work / f"text-{pages}.pdf"
        pdf.write_bytes(text_pdf(pages))
        out = work / f"text-{pages}.json"
        result = run([*TEXTLENS, "read", str(pdf), "-o", str(out), "-f", "json"], work, timeout=1800)
        document = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"pages": []}
        words = sum(
            len(line["words"]) for page in document["pages"] for block in page["blocks"] for line in block["lines"]
        )
        rows.append(
            {
                "pages": pages,
                "size_kb": pdf.stat().st_size / 1024,
                "exit": result.exit_code,
                "seconds": result.seconds,
                "per_page": result.seconds / pages,
                "peak_mb": result.peak_mb,
                "tree_mb": result.tree_mb,
                "read": f"{len(document['pages'])} pages, {words} words",
            }
        )
        print(f"  (e) {pages} pages: {result.seconds:.1f} s, {result.peak_mb:.0f} MB", flush=True)
        out.unlink(missing_ok=True)
    return rows


E_COLUMNS = [
    ("pages", "pages (A6, 200 dpi: 827×1167 px)"),
    ("size_kb", "PDF KB"),
    ("exit", "exit"),
    ("seconds", "s"),
    ("per_page", "s/page"),
    ("peak_mb", "peak RSS MB"),
    ("tree_mb", "tree RSS MB (sampled)"),
    ("read", "read"),
]


# ---------------------------------------------------------------- the report


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}"


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "textlens"], cwd=REPO, capture_output=True, text=True)
        return head.stdout.strip() + (" (textlens/ modified)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)

    def add(self, title: str, text: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
        self.sections += [f"## {title}", "", text, "", table(rows, columns), ""]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs, kills and pages (about 6 minutes)")
    parser.add_argument("--out", type=Path, help="markdown report (default bench/results/reliability-<date>.md)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = parser.parse_args(argv)
    date = dt.date.today().isoformat()
    out = args.out or RESULTS / f"reliability-{date}{'-quick' if args.quick else ''}.md"
    rng = random.Random(args.seed)
    kills = 2 if args.quick else 5
    started = time.monotonic()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="textlens-reliability-") as tmp:
        work = Path(tmp)
        corpus = make_corpus(work)
        print(f"corpus: {len(corpus.bad)} bad, {len(corpus.readable)} hostile readable, {len(corpus.good)} good")
        report.add(
            "(a) Every input alone",
            f"`textlens read INPUT -o OUT -f json`, one fresh process per input. {len(corpus.bad)} bad inputs "
            "(exit 1 expected, the error class is the one tests/test_bad_inputs.py checks), hostile files that "
            "must still read, and one good page per format (exit 0). *as expected*: the exit code, no "
            "traceback, no temporary left, every output complete."
            + (" Quick run: only the hostile kinds among the bad inputs." if args.quick else ""),
            one_at_a_time(corpus, work, args.quick),
            A_COLUMNS,
        )
        report.add(
            "(b) The whole corpus as one batch",
            "`textlens read <corpus folder> <every corpus path> <readable files> -o OUT -f json,text -j N`.",
            whole_batch(corpus, work),
            B_COLUMNS,
        )
        report.add(
            "(c) kill -9 mid-batch, then a rerun",
            f"`textlens read PAGES -o OUT -f json,overlay -j N`, its whole process group killed with SIGKILL "
            f"at {kills} seeded random moments (between 15 % and 95 % of an uninterrupted run), each into an "
            "empty OUT, then the same command run again. Half-written: a JSON output that does not parse or "
            "a PNG that does not decode. Lost: an output of the complete run missing after the rerun.",
            kills_mid_batch(work, kills, rng),
            C_COLUMNS,
        )
        report.add(
            "(d) kill -9 mid-training, then --resume",
            f"`textlens train rec {' '.join(TRAIN_ARGS)} --steps {TRAIN_STEPS}` (a checkpoint every 5 steps), "
            f"killed {kills} times at a random logged step plus a random pause (0-0.15 s), resumed with "
            "`--resume` each time, then run to the end. The batches behind the final model are those each "
            "run trained from its starting checkpoint up to the next run's; they are compared with an "
            "uninterrupted run's, batch by batch (digests as in tests/test_train_resume.py). Steps redone "
            "after the last checkpoint are the work a kill loses, not replays: their updates were lost with "
            "the process.",
            [kills_mid_training(work, kills, rng)],
            D_COLUMNS,
        )
        report.add(
            "(d2) kill -9 between the final checkpoint and the export",
            "The same run killed as soon as `last.ckpt` of the final step is written (before `export/` and "
            "`summary.json`), then `--resume` with the same `--steps`, as a user would to finish it.",
            [kill_before_export(work)],
            D2_COLUMNS,
        )
        counts = (50, 100) if args.quick else (50, 500)
        report.add(
            "(e) Memory against the page count",
            "`textlens read text-N.pdf -o OUT.json -f json` on a PDF of N A6 pages of Helvetica text, rendered "
            "at the default 200 dpi. Pages stream (loaded, read, written and let go one at a time), so the "
            "peak should not grow with N.",
            long_pdfs(work, counts),
            E_COLUMNS,
        )
    header = [
        f"# Reliability bench {date}{' (quick)' if args.quick else ''}",
        "",
        f"Machine: {machine()}.  ",
        f"textlens: commit {commit()}. Command: `python -m bench.reliability{' --quick' if args.quick else ''}`, "
        f"seed {args.seed}, {time.monotonic() - started:.0f} s in all.  ",
        f"Every command runs in a fresh process under a {MEMORY_CAP >> 30} GiB address-space cap (the PDF "
        "renderer caps itself at 1536 MiB). Peak RSS: the largest process of the tree (`wait4` ru_maxrss); "
        "tree RSS: the sum over the live tree, sampled every 50 ms.",
        "",
    ]
    text = "\n".join(header + report.sections)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
