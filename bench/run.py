"""Run the side-by-side benchmark: every engine on every available set, single-threaded and all threads.

    python -m bench.run [--quick] [--sets ic13,ic03] [--engines tesseract,rapidocr] [--threads 1,all]

Each (engine, set, threads) runs in its own subprocess (bench/worker.py) so its peak memory is its own.
Writes bench/results/<date>-<host>.md, .json and .png, and prints the tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` and `textlens` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import ENGINES, engine_module
from bench.sets import DEFAULT_CROP_LIMIT, DEFAULT_SETS, SETS, manifest_for
from textlens.data.manifest import atomic_write_text

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
QUICK_CROPS, QUICK_PAGES = 200, 10

REC_COLUMNS = [
    ("set", "set"),
    ("engine", "engine"),
    ("threads", "threads"),
    ("count", "n"),
    ("word_acc", "word acc %"),
    ("word_acc_ci_alnum", "ci-alnum acc %"),
    ("cer", "CER %"),
    ("cer_ci_alnum", "CER ci-alnum %"),
    ("ned", "1-NED"),
    ("ms_per_item", "ms/crop"),
    ("init_s", "load s"),
    ("peak_rss_mb", "peak RSS MiB"),
]
PAGE_COLUMNS = [
    ("set", "set"),
    ("engine", "engine"),
    ("threads", "threads"),
    ("pages", "pages"),
    ("det_f1", "det F1 %"),
    ("e2e_f1", "e2e F1 %"),
    ("e2e_ci_f1", "e2e ci F1 %"),
    ("bow_f1", "BoW F1 %"),
    ("page_cer", "page CER %"),
    ("s_per_page", "s/page"),
    ("init_s", "load s"),
    ("peak_rss_mb", "peak RSS MiB"),
]
DECIMALS = {"ms_per_item": 1, "s_per_page": 3, "init_s": 2}
PERCENT = {
    "word_acc",
    "word_acc_ci_alnum",
    "cer",
    "cer_ci_alnum",
    "det_f1",
    "e2e_f1",
    "e2e_ci_f1",
    "bow_f1",
    "page_cer",
}


def _env(threads: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if threads == "1":
        env.update(OMP_NUM_THREADS="1", OMP_THREAD_LIMIT="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    else:
        for key in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.pop(key, None)
    return env


def run_one(
    engine: str,
    set_name: str,
    manifest: Path,
    threads: str,
    limit: int | None,
    timeout: float | None,
    last: int | None = None,
) -> dict[str, Any]:
    """Measure one engine on one set in a fresh process and return its row."""
    cmd = [
        sys.executable,
        "-m",
        "bench.worker",
        "--engine",
        engine,
        "--set",
        set_name,
        "--manifest",
        str(manifest),
        "--threads",
        threads,
    ]
    if limit:
        cmd += ["--limit", str(limit)]
    if last:
        cmd += ["--last", str(last)]
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=_env(threads), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {
            "engine": engine,
            "set": set_name,
            "threads": threads,
            "failed": f"timed out after {timeout} s",
        }
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            "engine": engine,
            "set": set_name,
            "threads": threads,
            "failed": f"exit {proc.returncode}: {tail}",
        }
    row = json.loads(lines[-1])
    if "rss_self_mb" in row:
        # Tesseract works in child processes, so their peak counts too. A forked child's peak starts from
        # the pages it shares with its parent, so adding the two would double-count: take the larger.
        row["peak_rss_mb"] = max(row["rss_self_mb"], row["rss_children_mb"])
    return row


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in PERCENT:
        return f"{100 * value:.1f}"
    if key == "ned":
        return f"{value:.3f}"
    if key in DECIMALS:
        return f"{value:.{DECIMALS[key]}f}"
    if key == "peak_rss_mb":
        return f"{value:.0f}"
    return str(value)


LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "cs": "Czech",
    "sk": "Slovak",
    "hu": "Hungarian",
    "ro": "Romanian",
    "tr": "Turkish",
    "sv": "Swedish",
    "da": "Danish",
    "nb": "Norwegian Bokmål",
    "fi": "Finnish",
}


def by_lang_table(rows: list[dict[str, Any]]) -> str:
    """One set's rows with a ``by_lang`` breakdown as one line per language and one for all, with a CER and a
    lines-exactly-right column per engine (its single-threaded row where there is one: accuracy does not depend on
    threads)."""
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        if "by_lang" in r and (r["engine"] not in best or str(r["threads"]) == "1"):
            best[r["engine"]] = r
    langs = list(dict.fromkeys(lang for r in best.values() for lang in r["by_lang"]))
    head = ["language", "lines"] + [f"{e} {what}" for e in best for what in ("CER %", "lines right %")]

    def cells(scores: dict[str, Any] | None) -> list[str]:
        if scores is None:
            return ["-", "-"]
        return [f"{100 * scores['cer']:.2f}", f"{100 * scores['word_acc']:.1f}"]

    body = []
    for lang in langs:
        count = next(r["by_lang"][lang]["count"] for r in best.values() if lang in r["by_lang"])
        line = [f"{LANGUAGE_NAMES.get(lang, lang)} ({lang})", str(count)]
        for r in best.values():
            line += cells(r["by_lang"].get(lang))
        body.append(line)
    total = ["**all**", str(next(iter(best.values()))["count"]) if best else "0"]
    for r in best.values():
        total += [f"**{c}**" for c in cells(r)]
    body.append(total)
    rule = ["---"] * len(head)
    return "\n".join("| " + " | ".join(line) + " |" for line in [head, rule, *body])


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(k, r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    done = [r for r in rows if "skipped" not in r and "failed" not in r]
    rec = [r for r in done if r.get("kind") == "rec"]
    pages = [r for r in done if r.get("kind") == "page"]
    out = [
        f"# Benchmark {meta['date']} on {meta['host']}",
        "",
        f"Command: `{meta['command']}`  ",
        f"Commit: {meta.get('commit', '?')}  ",
        f"CPU: {meta.get('cpu_model', '?')}, {meta['cpus']} cores visible; "
        "threads `1` = OMP_NUM_THREADS=1 / OMP_THREAD_LIMIT=1 and one onnxruntime intra-op thread, "
        "`all` = the engine's default.  ",
        "Definitions: docs/evaluation.md (METRICS.md). Timing excludes image decoding, after one untimed "
        "warm-up; `load s` is model construction. Peak RSS is the larger of the worker "
        "process's peak and its largest child's (Tesseract runs as child processes).",
        "",
    ]
    if rec:
        out += ["## Recognition (cropped words / lines)", "", table(rec, REC_COLUMNS), ""]
    for set_name in dict.fromkeys(r["set"] for r in rec if "by_lang" in r):
        out += [
            f"### {set_name} per language",
            "",
            "CER (exact form: accents, case and punctuation count) and the share of lines read exactly right.",
            "",
            by_lang_table([r for r in rec if r["set"] == set_name]),
            "",
        ]
    if pages:
        out += ["## Pages", "", table(pages, PAGE_COLUMNS), ""]
    notes = [r for r in rows if "skipped" in r or "failed" in r]
    if notes:
        out += ["## Not measured", ""]
        seen = set()
        for r in notes:
            why = r.get("skipped", r.get("failed", ""))
            line = f"- {r['engine']} on {r['set']} (threads={r['threads']}): {why}"
            key = (r["engine"], r.get("skipped")) if "skipped" in r else line
            if key not in seen:
                seen.add(key)
                out.append(line)
        out.append("")
    out += ["## Engine configurations", ""]
    out += [f"- {name}: {cfg}" for name, cfg in meta["configs"].items()]
    return "\n".join(out) + "\n"


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Accuracy and speed side by side, one bar per engine per set (single-threaded rows preferred)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if "skipped" not in r and "failed" not in r]
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in done:
        key = (r["set"], r["engine"])
        if key not in best or str(r["threads"]) == "1":
            best[key] = r
    panels = [
        ("rec", "word_acc_ci_alnum", "ci-alnum word accuracy %"),
        ("rec", "ms_per_item", "ms per crop"),
        ("page", "e2e_f1", "end-to-end F1 %"),
        ("page", "s_per_page", "s per page"),
    ]
    panels = [p for p in panels if any(r["kind"] == p[0] for r in best.values())]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4), squeeze=False)
    engines = sorted({e for _, e in best})
    for ax, (kind, key, title) in zip(axes[0], panels, strict=True):
        sets = sorted({s for (s, _), r in best.items() if r["kind"] == kind})
        width = 0.8 / max(1, len(engines))
        for k, engine in enumerate(engines):
            values = [best.get((s, engine), {}).get(key) for s in sets]
            scale = 100 if key in PERCENT else 1
            ax.bar(
                [i + k * width for i in range(len(sets))],
                [(v or 0) * scale for v in values],
                width,
                label=engine,
            )
        ax.set_xticks([i + width * (len(engines) - 1) / 2 for i in range(len(sets))], sets, rotation=20)
        ax.set_title(title)
    axes[0][0].legend()
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def _configs(engines: list[str]) -> dict[str, str]:
    out = {}
    for name in engines:
        module = engine_module(name)
        try:
            version = module.version() if module.unavailable() is None else "n/a"
        except Exception:  # a version probe must not stop the benchmark
            version = "?"
        out[name] = module.CONFIG.format(version=version)
    return out


def cpu_model() -> str:
    """The CPU's model name (``lscpu``'s), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def commit() -> str:
    """``git rev-parse --short HEAD``, with ``+changes`` when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (+ uncommitted changes)" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="textlens vs peers, side by side (see bench/README.md).")
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="folder holding the shared sets (default: ../shared/data from the repo root)",
    )
    parser.add_argument(
        "--sets",
        default=",".join(DEFAULT_SETS),
        help=f"comma list of {', '.join(SETS)} (default: all but {', '.join(sorted(set(SETS) - set(DEFAULT_SETS)))})",
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma list of {', '.join(ENGINES)}")
    parser.add_argument("--threads", default="1,all", help="comma list of 1 and/or all")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N items of each set")
    parser.add_argument(
        "--last",
        type=int,
        default=None,
        help="score only the last N items of each set (the held-out pages: --sets funsd --last 20, sroie --last 30)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"limit to {QUICK_CROPS} crops / {QUICK_PAGES} pages per set"
    )
    parser.add_argument(
        "--crop-limit",
        type=int,
        default=DEFAULT_CROP_LIMIT,
        help="crops cut from page sets (funsd_words, sroie_lines)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument(
        "--name",
        default=None,
        help="results file stem: NAME-<date> instead of <date>-<host> (e.g. --name accented-lines)",
    )
    args = parser.parse_args(argv)
    for name in args.sets.split(","):
        if name not in SETS:
            parser.error(f"unknown set {name!r} (known: {', '.join(SETS)})")
    for name in args.engines.split(","):
        if name not in ENGINES:
            parser.error(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")
    for t in args.threads.split(","):
        if t not in {"1", "all"}:
            parser.error(f"--threads takes 1 and/or all, not {t!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engines, threads = args.engines.split(","), args.threads.split(",")
    rows: list[dict[str, Any]] = []
    for set_name in args.sets.split(","):
        bench_set = SETS[set_name]
        manifest = manifest_for(bench_set, args.data, args.crop_limit)
        if manifest is None:
            how = f" (build it with `{bench_set.build}`)" if bench_set.build else ""
            print(f"skip {set_name}: {args.data / bench_set.source} not found{how}", file=sys.stderr)
            continue
        quick = QUICK_CROPS if bench_set.kind == "rec" else QUICK_PAGES
        limit = args.limit or (quick if args.quick else None)
        for engine in engines:
            for t in threads:
                print(f"{set_name} / {engine} / {t} thread(s) ...", file=sys.stderr, flush=True)
                row = run_one(engine, set_name, manifest, t, limit, args.timeout, args.last)
                rows.append(row)
                print("  " + json.dumps(row), file=sys.stderr, flush=True)
    now = dt.datetime.now()
    host = socket.gethostname().split(".")[0]
    meta = {
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "host": host,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "commit": commit(),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "configs": _configs(engines),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    base = f"{args.name}-{now:%Y-%m-%d}" if args.name else f"{now:%Y-%m-%d}-{host}"
    stem = args.out / f"{base}{'-quick' if args.quick else ''}"
    text = markdown(rows, meta)
    atomic_write_text(stem.with_suffix(".md"), text)
    atomic_write_text(stem.with_suffix(".json"), json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    written = [".md", ".json"]
    try:
        chart(rows, stem.with_suffix(".png"))
        written.append(".png")
    except ImportError as exc:  # matplotlib comes with the `bench` extra; the tables do not need it
        print(f"chart skipped ({exc}); install textlens[bench] for it", file=sys.stderr)
    print(text)
    print(f"written: {stem}{', '.join(written)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
