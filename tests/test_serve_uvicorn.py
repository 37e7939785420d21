"""textlens serve for real: the CLI starts uvicorn on loopback with a worker process; SIGTERM drains and exits 0."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from PIL import Image  # noqa: E402

from textlens.serve.pool import ProcessBackend  # noqa: E402
from textlens.serve.worker import Done, ReadJob  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiled(times: int = 3) -> bytes:
    """The sample page tiled times × times: a page that keeps a worker busy for a few seconds."""
    page = Image.open(SAMPLE).convert("RGB")
    big = Image.new("RGB", (page.width * times, page.height * times), "white")
    for i in range(times):
        for j in range(times):
            big.paste(page, (i * page.width, j * page.height))
    out = io.BytesIO()
    big.save(out, format="PNG")
    return out.getvalue()


def wait_ready(base: str, proc: subprocess.Popen, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "the server exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server was not ready in time")


def test_the_cli_serves_on_loopback_and_drains_on_sigterm() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TEXTLENS_API_KEY": ""}
    command = [sys.executable, "-m", "textlens", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(base, proc)
        response = httpx.post(f"{base}/v1/read", content=SAMPLE.read_bytes(), timeout=30)
        assert response.status_code == 200, response.text
        doc = response.json()
        words = [w["text"] for b in doc["pages"][0]["blocks"] for ln in b["lines"] for w in ln["words"]]
        assert " ".join(words[:2]) == "Invoice 2041" and "Lovelace" in words

        answer: dict[str, httpx.Response] = {}
        big = tiled()
        request = threading.Thread(
            target=lambda: answer.update(r=httpx.post(f"{base}/v1/read?format=text", content=big, timeout=60))
        )
        request.start()
        deadline = time.monotonic() + 20
        while "textlens_serve_in_flight 1.0" not in httpx.get(f"{base}/metrics", timeout=5).text:
            assert time.monotonic() < deadline, "the request never reached the server"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        request.join(60)
        assert answer["r"].status_code == 200 and answer["r"].text.count("Invoice 2041") == 9
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    access = [r for r in log if r["logger"] == "textlens.serve.access" and r["path"] == "/v1/read"]
    assert [r["status"] for r in access] == [200, 200] and access[-1]["pages"] == 1


def test_a_worker_past_its_deadline_is_replaced() -> None:
    backend = ProcessBackend(1, threads=1)
    backend.start()
    try:
        with pytest.raises(FutureTimeout):
            backend.submit(ReadJob(tiled(4)), timeout=0.3).result(30)
        outcome = backend.submit(ReadJob(SAMPLE.read_bytes(), fmt="text"), timeout=30).result(60)
        assert isinstance(outcome, Done) and "Invoice 2041" in outcome.body
        assert backend.ready()
    finally:
        backend.close()
