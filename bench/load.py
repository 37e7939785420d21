"""Load test of ``textlens serve`` on loopback: steady mixed load, an overload burst, SIGTERM under load.

    python -m bench.load [--workers 2] [--clients 32] [--seconds 120] [--max-queue 32] [--json out.json]

Starts ``textlens serve`` on a free loopback port and, from this process (asyncio + httpx), runs three phases:

1. **steady**: ``--clients`` concurrent clients, each sending ``POST /v1/read`` one after another for ``--seconds``,
   cycling through a receipt (drawn by ``textlens.extract.synthetic``), a form-like invoice page
   (``examples/sample.png``) and a business card on a photograph (``textlens.extract.card_synth``): requests/s,
   latency p50/p95/p99, errors, and the resident memory of the server and its workers sampled every 2 s.
2. **burst**: ``--burst`` requests at once, beyond ``workers + max-queue``: every answer must be 200 or 503 with
   ``Retry-After``, the server must stay up, and a request right after must be answered 200.
3. **sigterm**: ``--clients`` clients again; after ``--sigterm-after`` seconds the server gets SIGTERM. Every request
   sent before the signal must be answered 200; the server must exit 0.

Bounded: at most ``--max-requests`` requests per phase and a deadline per phase. Not part of ``make test``;
docs/serving.md holds the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def documents() -> dict[str, bytes]:
    """The three kinds of page the clients send, by name."""
    from textlens.extract.card_synth import synthetic_card
    from textlens.extract.synthetic import synthetic_receipt

    return {
        "receipt": png(synthetic_receipt(seed=7)[0]),
        "form": (ROOT / "examples" / "sample.png").read_bytes(),
        "photo": png(synthetic_card(0, photo=True)[0].image),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Outcome:
    """What one request got: its kind, when it was sent and answered, the status (0: no answer) and why not."""

    kind: str
    sent: float
    seconds: float
    status: int
    retry_after: str | None = None
    failure: str = ""


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)

    def memory_mib(self) -> float:
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return float("nan")
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 2**20


def start_server(workers: int, max_queue: int, log: Path) -> Server:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TEXTLENS_API_KEY": ""}
    command = [sys.executable, "-m", "textlens", "-q", "serve", "--port", str(port), "--workers", str(workers),
               "--max-queue", str(max_queue)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{server.base}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server was not ready in 120 s")


async def send(client: httpx.AsyncClient, base: str, kind: str, body: bytes, origin: float) -> Outcome:
    sent = time.perf_counter()
    try:
        response = await client.post(f"{base}/v1/read", content=body)
        return Outcome(kind, sent - origin, time.perf_counter() - sent, response.status_code,
                       response.headers.get("retry-after"))  # fmt: skip
    except httpx.ConnectError as exc:
        return Outcome(kind, sent - origin, time.perf_counter() - sent, 0, failure=f"refused: {exc}")
    except httpx.HTTPError as exc:
        return Outcome(kind, sent - origin, time.perf_counter() - sent, 0, failure=f"{type(exc).__name__}: {exc}")


async def clients_loop(
    server: Server, docs: dict[str, bytes], clients: int, seconds: float, max_requests: int, stop_on_refusal: bool
) -> tuple[list[Outcome], float]:
    """``clients`` clients sending one request after another until ``seconds`` pass or ``max_requests`` are sent."""
    kinds = list(docs)
    outcomes: list[Outcome] = []
    origin = time.perf_counter()
    deadline = origin + seconds
    counter = iter(range(max_requests))
    refused = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(timeout=300, limits=limits) as client:

        async def one_client(index: int) -> None:
            turn = index
            while time.perf_counter() < deadline and not refused.is_set():
                if next(counter, None) is None:
                    return
                kind = kinds[turn % len(kinds)]
                turn += 1
                outcome = await send(client, server.base, kind, docs[kind], origin)
                outcomes.append(outcome)
                if outcome.status == 0 and stop_on_refusal:
                    refused.set()

        await asyncio.gather(*(one_client(i) for i in range(clients)))
    return outcomes, origin


async def sample_memory(server: Server, origin: float, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        server.rss.append((round(time.perf_counter() - origin, 1), round(server.memory_mib(), 1)))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def latency_stats(outcomes: list[Outcome]) -> dict[str, Any]:
    ok = [o.seconds * 1000 for o in outcomes if o.status == 200]
    return {"p50_ms": round(percentile(ok, 0.5), 1), "p95_ms": round(percentile(ok, 0.95), 1),
            "p99_ms": round(percentile(ok, 0.99), 1)}  # fmt: skip


def statuses(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[str(o.status)] = counts.get(str(o.status), 0) + 1
    return dict(sorted(counts.items()))


async def steady(server: Server, docs: dict[str, bytes], args: argparse.Namespace) -> dict[str, Any]:
    stop = asyncio.Event()
    origin = time.perf_counter()
    sampler = asyncio.create_task(sample_memory(server, origin, 2.0, stop))
    outcomes, started = await clients_loop(server, docs, args.clients, args.seconds, args.max_requests, False)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    warm = [m for t, m in server.rss if t >= args.warmup]
    by_kind = {k: latency_stats([o for o in outcomes if o.kind == k]) for k in docs}
    errors = [o for o in outcomes if o.status != 200]
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(outcomes),
        # answers within the window: the clients' last requests, finishing after it, would dilute the rate
        "requests_per_s": round(
            sum(o.status == 200 and o.sent + o.seconds <= args.seconds for o in outcomes) / args.seconds, 2
        ),
        **latency_stats(outcomes),
        "by_kind": by_kind,
        "errors": len(errors),
        "statuses": statuses(outcomes),
        "error_examples": [o.failure or str(o.status) for o in errors[:5]],
        "rss_mib_after_warmup": {
            "first": warm[0] if warm else None,
            "min": min(warm) if warm else None,
            "max": max(warm) if warm else None,
            "last": warm[-1] if warm else None,
            "spread_pct": round(100 * (max(warm) - min(warm)) / min(warm), 1) if warm else None,
        },
        "rss_mib_series": server.rss,
    }


async def burst(server: Server, docs: dict[str, bytes], args: argparse.Namespace) -> dict[str, Any]:
    kinds = list(docs)
    origin = time.perf_counter()
    limits = httpx.Limits(max_connections=args.burst, max_keepalive_connections=args.burst)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        outcomes = await asyncio.gather(
            *(send(client, server.base, kinds[i % 3], docs[kinds[i % 3]], origin) for i in range(args.burst))
        )
        alive = server.process.poll() is None
        after = await send(client, server.base, "form", docs["form"], origin)
    refused = [o for o in outcomes if o.status == 503]
    return {
        "requests": args.burst,
        "capacity": args.workers + args.max_queue,
        "statuses": statuses(list(outcomes)),
        "all_503_have_retry_after": all(o.retry_after for o in refused),
        "only_200_or_503": all(o.status in (200, 503) for o in outcomes),
        "median_503_ms": round(statistics.median(o.seconds * 1000 for o in refused), 1) if refused else None,
        "server_alive": alive and server.process.poll() is None,
        "next_request_status": after.status,
        "next_request_ms": round(after.seconds * 1000, 1),
    }


async def sigterm(server: Server, docs: dict[str, bytes], args: argparse.Namespace) -> dict[str, Any]:
    loop_task = asyncio.create_task(
        clients_loop(server, docs, args.clients, args.sigterm_after + 120, args.max_requests, True)
    )
    await asyncio.sleep(args.sigterm_after)
    signalled = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    outcomes, origin = await loop_task
    cut = signalled - origin
    exit_code = await asyncio.to_thread(server.process.wait, 300)
    before = [o for o in outcomes if o.sent < cut]
    after = [o for o in outcomes if o.sent >= cut]
    in_flight = [o for o in before if o.sent + o.seconds >= cut]
    return {
        "sent_before_sigterm": len(before),
        "in_flight_at_sigterm": len(in_flight),
        "answered_200_of_those_sent_before": sum(o.status == 200 for o in before),
        "lost_of_those_sent_before": [o.failure or str(o.status) for o in before if o.status != 200],
        "sent_after_sigterm": len(after),
        "after_sigterm_statuses": statuses(after),
        "drain_seconds": round(max((o.sent + o.seconds for o in before), default=cut) - cut, 2),
        "server_exit_code": exit_code,
    }


def table(result: dict[str, Any]) -> str:
    s, b, t = result["steady"], result["burst"], result["sigterm"]
    rss = s["rss_mib_after_warmup"]
    rows = [
        ("requests answered / s", f"{s['requests_per_s']}"),
        ("latency p50 / p95 / p99", f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} / {s['p99_ms']:.0f} ms"),
        ("requests, errors", f"{s['requests']}, {s['errors']}"),
        ("server RSS after warm-up (min … max)", f"{rss['min']:.0f} … {rss['max']:.0f} MiB ({rss['spread_pct']} %)"),
        ("burst: answers", ", ".join(f"{n}× {k}" for k, n in b["statuses"].items())),
        ("burst: every 503 with Retry-After, server up", f"{b['all_503_have_retry_after']}, {b['server_alive']}"),
        ("burst: the next request", f"{b['next_request_status']} in {b['next_request_ms']:.0f} ms"),
        (
            "SIGTERM: sent before, answered 200",
            f"{t['sent_before_sigterm']}, {t['answered_200_of_those_sent_before']}",
        ),
        ("SIGTERM: in flight at the signal, drained in", f"{t['in_flight_at_sigterm']}, {t['drain_seconds']} s"),
        ("SIGTERM: exit code", str(t["server_exit_code"])),
    ]
    lines = ["| measure | result |", "| --- | --- |", *(f"| {a} | {b_} |" for a, b_ in rows)]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    docs = documents()
    log = Path(args.log)
    server = start_server(args.workers, args.max_queue, log)
    try:
        for body in docs.values():  # warm every worker's models and page sizes once
            httpx.post(f"{server.base}/v1/read", content=body, timeout=120).raise_for_status()
        result: dict[str, Any] = {"workers": args.workers, "max_queue": args.max_queue,
                                  "documents": {k: len(v) for k, v in docs.items()}}  # fmt: skip
        result["steady"] = await steady(server, docs, args)
        result["burst"] = await burst(server, docs, args)
        await asyncio.sleep(2)
        result["sigterm"] = await sigterm(server, docs, args)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of the steady phase before RSS counts")
    parser.add_argument("--max-queue", type=int, default=32)
    parser.add_argument("--burst", type=int, default=160)
    parser.add_argument("--sigterm-after", type=float, default=8.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--log", default="/tmp/textlens-load-server.log")
    parser.add_argument("--json", type=Path, default=None, help="write the full results (with the RSS series) here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    load_before = os.getloadavg()
    result = asyncio.run(run(args))
    result["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    brief = {k: v for k, v in result.items() if k != "steady"}
    brief["steady"] = {k: v for k, v in result["steady"].items() if k != "rss_mib_series"}
    print(json.dumps(brief, indent=2))
    print(table(result))


if __name__ == "__main__":
    main()
