"""textlens serve through FastAPI's TestClient: routes, formats, errors, limits, the bounded queue, the API key."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from textlens.serve import ServeConfig, create_app
from textlens.serve.pool import ThreadBackend
from textlens.serve.server import JsonLines
from textlens.serve.worker import Done, Failed, Models, ReadJob

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample.png"


@pytest.fixture(scope="module")
def models() -> Models:
    """The bundled models, loaded once for the module (in this process: a ThreadBackend runs them)."""
    m = Models(threads=1)
    m.get()
    return m


def client_for(config: ServeConfig, run) -> TestClient:
    return TestClient(create_app(config, backend=ThreadBackend(run, config.workers)))


@pytest.fixture(scope="module")
def client(models: Models):
    with client_for(ServeConfig(max_pixels=2_000_000, max_pages=2), models.run) as c:
        yield c


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_read_returns_the_document_model_from_a_raw_body(client: TestClient) -> None:
    response = client.post("/v1/read", content=SAMPLE.read_bytes())
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["schema"] == 1 and len(doc["pages"]) == 1
    words = [w["text"] for b in doc["pages"][0]["blocks"] for ln in b["lines"] for w in ln["words"]]
    assert words[:2] == ["Invoice", "2041"]
    assert response.headers["X-Textlens-Pages"] == "1"


def test_read_takes_a_multipart_upload_and_names_its_pages_after_it(client: TestClient) -> None:
    response = client.post("/v1/read", files={"file": ("scan.png", SAMPLE.read_bytes(), "image/png")})
    assert response.status_code == 200, response.text
    assert response.json()["pages"][0]["source"] == "scan.png"


@pytest.mark.parametrize(
    ("fmt", "media", "mark"),
    [
        ("text", "text/plain", b"Invoice 2041"),
        ("hocr", "application/xhtml+xml", b"ocrx_word"),
        ("alto", "application/xml", b"<alto"),
        ("tsv", "text/tab-separated-values", b"Invoice"),
        ("pdf", "application/pdf", b"%PDF-"),
    ],
)
def test_read_renders_the_asked_format(client: TestClient, fmt: str, media: str, mark: bytes) -> None:
    response = client.post(f"/v1/read?format={fmt}", content=SAMPLE.read_bytes())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    assert mark in response.content


def test_read_takes_a_pdf(client: TestClient) -> None:
    pdf = client.post("/v1/read?format=pdf", content=SAMPLE.read_bytes()).content
    response = client.post("/v1/read?format=text", files={"file": ("scan.pdf", pdf, "application/pdf")})
    assert response.status_code == 200, response.text
    assert "Invoice 2041" in response.text and response.headers["X-Textlens-Pages"] == "1"


def test_a_corrupt_image_is_422_naming_the_problem_not_a_500(client: TestClient) -> None:
    response = client.post("/v1/read", files={"file": ("broken.png", SAMPLE.read_bytes()[:2000], "image/png")})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "CorruptImage"
    assert body["message"].startswith("broken.png: ") and "Traceback" not in response.text


def test_bytes_that_are_no_image_are_422_naming_the_upload(client: TestClient) -> None:
    response = client.post("/v1/read", content=b"just some text")
    assert response.status_code == 422
    assert response.json()["error"] == "UnsupportedFormat"
    assert response.json()["message"].startswith("the uploaded file: not an image")


def test_an_empty_body_is_422(client: TestClient) -> None:
    response = client.post("/v1/read", content=b"")
    assert response.status_code == 422 and response.json()["error"] == "EmptyRequest"


def test_a_page_over_the_pixel_limit_is_413(client: TestClient) -> None:
    big = png(np.full((1500, 1500, 3), 255, np.uint8))  # 2.25 Mpx > 2 Mpx
    response = client.post("/v1/read", content=big)
    assert response.status_code == 413
    assert response.json()["error"] == "ImageTooLarge" and "2000000" in response.json()["message"].replace(",", "")


def test_more_pages_than_the_limit_is_413_and_pages_picks_fewer(client: TestClient) -> None:
    page = Image.open(SAMPLE).convert("RGB")
    out = io.BytesIO()
    page.save(out, format="TIFF", save_all=True, append_images=[page, page])
    response = client.post("/v1/read?format=text", content=out.getvalue())
    assert response.status_code == 413
    assert "more than 2 pages exceeds the limit" in response.json()["message"]
    response = client.post("/v1/read?format=text&pages=2-3", content=out.getvalue())
    assert response.status_code == 200 and response.headers["X-Textlens-Pages"] == "2"


@pytest.mark.parametrize(
    ("query", "needle"), [("pages=0", "pages"), ("format=docx", "format"), ("domain=space", "domain")]
)
def test_bad_options_are_422_naming_the_option(client: TestClient, query: str, needle: str) -> None:
    response = client.post(f"/v1/read?{query}", content=SAMPLE.read_bytes())
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidOption" and needle in response.json()["message"]


def test_an_unknown_language_is_422(client: TestClient) -> None:
    response = client.post("/v1/read?lang=xx", content=SAMPLE.read_bytes())
    assert response.status_code == 422 and response.json()["error"] == "ConfigError"


def test_recognize_reads_crops_in_the_order_sent(client: TestClient) -> None:
    page = Image.open(SAMPLE).convert("RGB")
    crops = []
    for box in ((56, 44, 227, 96), (228, 44, 352, 97)):  # "Invoice", "2041"
        out = io.BytesIO()
        page.crop(box).save(out, format="PNG")
        crops.append(("files", (f"{box[0]}.png", out.getvalue(), "image/png")))
    response = client.post("/v1/recognize", files=crops)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["text"] for r in results] == ["Invoice", "2041"]
    assert all(0 < r["confidence"] <= 1 for r in results)
    bad = client.post("/v1/recognize", files=[crops[0], ("files", ("x.png", b"\x89PNG\r\n\x1a\nxx", "image/png"))])
    assert bad.status_code == 422 and bad.json()["message"].startswith("x.png: ")


def test_health_readiness_docs_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/read", "/v1/recognize", "/healthz", "/readyz", "/metrics"} <= set(paths)
    client.post("/v1/read", content=b"nope")
    text = client.get("/metrics").text
    assert 'textlens_serve_requests_total{route="/v1/read",status="200"}' in text
    assert 'textlens_serve_errors_total{error="UnsupportedFormat",route="/v1/read"}' in text
    assert 'textlens_serve_request_seconds_bucket{le="0.5",route="/v1/read"}' in text
    for name in ("textlens_serve_pages_total", "textlens_serve_queue_depth", "textlens_serve_in_flight"):
        assert f"\n{name} " in text


def test_the_access_log_is_one_json_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="textlens.serve.access"):
        client.post("/v1/read?format=text", content=SAMPLE.read_bytes(), headers={"X-Request-ID": "abc"})
    records = [r for r in caplog.records if r.name == "textlens.serve.access"]
    line = json.loads(JsonLines().format(records[-1]))
    assert line["request_id"] == "abc" and line["status"] == 200 and line["pages"] == 1
    assert line["path"] == "/v1/read" and line["query"] == "format=text" and line["seconds"] > 0


class Gate:
    """A fake reader that holds every job until released: the queue fills while it waits."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def __call__(self, job: ReadJob) -> Done | Failed:
        self.started.release()
        self.release.wait(10)
        return Done({"pages": []}, 0)


def test_a_full_queue_answers_503_with_retry_after_and_recovers() -> None:
    gate = Gate()
    config = ServeConfig(workers=1, max_queue=1, retry_after=3)
    with client_for(config, gate) as c:
        answers: list[int] = []

        def post() -> None:
            answers.append(c.post("/v1/read", content=b"x").status_code)

        held = [threading.Thread(target=post), threading.Thread(target=post)]
        held[0].start()
        assert gate.started.acquire(timeout=5)  # one running
        held[1].start()
        deadline = time.monotonic() + 5
        while c.app.state.admission.pending < 2 and time.monotonic() < deadline:  # one waiting
            time.sleep(0.01)
        assert "textlens_serve_queue_depth 1.0" in c.get("/metrics").text
        refused = c.post("/v1/read", content=b"x")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
        assert refused.json()["error"] == "QueueFull"
        gate.release.set()
        for t in held:
            t.join(10)
        assert answers == [200, 200]
        assert c.post("/v1/read", content=b"x").status_code == 200


def test_a_request_past_the_timeout_is_504() -> None:
    gate = Gate()
    with client_for(ServeConfig(timeout=0.2), gate) as c:
        response = c.post("/v1/read", content=b"x")
        gate.release.set()
    assert response.status_code == 504
    assert response.json() == {"error": "Timeout", "message": response.json()["message"]}
    assert "0.2 s" in response.json()["message"]


def test_a_body_over_the_byte_limit_is_413_before_any_work() -> None:
    calls: list[ReadJob] = []
    with client_for(ServeConfig(max_bytes=1000), lambda job: calls.append(job) or Done({}, 0)) as c:
        response = c.post("/v1/read", content=b"x" * 1001)
    assert response.status_code == 413 and response.json()["error"] == "TooLarge" and not calls
    assert "--max-bytes" in response.json()["message"]


def test_the_api_key_guards_v1_only() -> None:
    with client_for(ServeConfig(api_key="s3cret"), lambda job: Done({"pages": []}, 0)) as c:
        assert c.post("/v1/read", content=b"x").status_code == 401
        assert c.post("/v1/read", content=b"x", headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.post("/v1/read", content=b"x", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200


def test_an_unexpected_error_in_a_worker_is_a_500_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    m = Models()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom at /secret/path")

    monkeypatch.setattr(m, "get", broken)
    outcome = m.run(ReadJob(b"x"))
    assert isinstance(outcome, Failed) and outcome.status == 500
    assert outcome.error == "InternalError" and "secret" not in outcome.message


def test_the_service_imports_without_torch() -> None:
    from tests.test_torch_free import run_without_torch

    modules = ["textlens.serve.app", "textlens.serve.worker", "textlens.serve.server", "textlens.cli.serve"]
    result = run_without_torch("\n".join(f"import {m}" for m in modules) + "\nprint('ok')")
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


def test_without_the_serve_extra_the_command_says_what_to_install() -> None:
    import subprocess
    import sys

    block = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client'):\n"
        "            raise ImportError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from textlens.cli.app import main\n"
        "sys.argv = ['textlens', 'serve']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "pip install 'textlens[serve]'" in result.stderr
