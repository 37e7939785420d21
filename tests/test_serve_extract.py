"""POST /v1/extract/{task} through FastAPI's TestClient: a drawn receipt's fields, the error JSON and the limits."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from textlens.extract.synthetic import synthetic_receipt
from textlens.serve import ServeConfig, create_app
from textlens.serve.pool import ProcessBackend, ThreadBackend
from textlens.serve.worker import Done, ExtractJob, Failed, Models


def png(array) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def receipt() -> tuple[bytes, dict[str, str]]:
    image, _, truth = synthetic_receipt(seed=3)
    return png(image), truth


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    models = Models(threads=1)
    config = ServeConfig(max_pixels=2_000_000, max_pages=2)
    with TestClient(create_app(config, backend=ThreadBackend(models.run, config.workers))) as c:
        yield c


def test_a_drawn_receipt_gives_its_total_and_date(client: TestClient, receipt: tuple[bytes, dict[str, str]]) -> None:
    data, truth = receipt
    response = client.post("/v1/extract/receipt", files={"file": ("shop.png", data, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task"] == "receipt" and body["source"] == "shop.png"
    assert response.headers["X-Textlens-Pages"] == "1"
    fields = body["fields"]
    assert set(fields) >= {"company", "date", "address", "total"}
    assert fields["total"]["raw"] == truth["total"]
    day, month, year = truth["date"].split("/")
    assert fields["date"]["value"] == f"{year}-{month}-{day}"
    assert fields["total"]["boxes"] and 0 < fields["total"]["confidence"] <= 1
    metrics = client.get("/metrics").text
    assert 'textlens_serve_requests_total{route="/v1/extract/receipt",status="200"} 1.0' in metrics


def test_the_card_task_answers_with_its_fields(client: TestClient, receipt: tuple[bytes, dict]) -> None:
    pytest.importorskip("phonenumbers")
    card = client.post("/v1/extract/card?region=de", content=receipt[0])
    assert card.status_code == 200, card.text
    phone = card.json()["fields"]["phone"]
    assert card.json()["task"] == "card" and card.json()["source"] is None
    assert phone["value"].startswith("+49")  # ?region=de read the national number as German


def test_the_form_task_answers_with_its_fields(client: TestClient, receipt: tuple[bytes, dict]) -> None:
    form = client.post("/v1/extract/form", content=receipt[0])
    assert form.status_code == 200, form.text
    assert form.json()["task"] == "form" and isinstance(form.json()["fields"], dict)


def test_errors_are_json_naming_the_problem(client: TestClient) -> None:
    unknown = client.post("/v1/extract/passport", content=b"x")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "UnknownTask" and "receipt" in unknown.json()["message"]
    broken = client.post("/v1/extract/receipt", files={"file": ("broken.png", b"\x89PNG\r\n\x1a\nxx", "image/png")})
    assert broken.status_code == 422 and broken.json()["error"] == "CorruptImage"
    assert broken.json()["message"].startswith("broken.png")
    assert client.post("/v1/extract/receipt", content=b"").json()["error"] == "EmptyRequest"
    bad_region = client.post("/v1/extract/card?region=Germany", content=b"x")
    assert bad_region.status_code == 422 and "two-letter" in bad_region.json()["message"]
    assert client.post("/v1/extract/receipt?pages=0", content=b"x").json()["error"] == "InvalidOption"
    huge = png(np.zeros((1100, 2000, 3), np.uint8) + 255)  # over the 2 Mpx limit of this client
    too_large = client.post("/v1/extract/receipt", content=huge)
    assert too_large.status_code == 413 and too_large.json()["error"] == "ImageTooLarge"


def test_extract_shares_the_bounded_queue_and_the_body_limit() -> None:
    config = ServeConfig(workers=1, max_queue=0, max_bytes=100)
    with TestClient(create_app(config, backend=ThreadBackend(lambda job: Done({}, 1), 1))) as c:
        assert c.post("/v1/extract/receipt", content=b"x" * 101).json()["error"] == "TooLarge"
        c.app.state.admission.pending = 1  # one request in hand fills workers + queue
        full = c.post("/v1/extract/receipt", content=b"x")
        assert full.status_code == 503 and full.headers["Retry-After"] == "1"
        assert full.json()["error"] == "QueueFull"


def test_extract_jobs_run_in_the_worker_processes(receipt: tuple[bytes, dict[str, str]]) -> None:
    backend = ProcessBackend(1, threads=1)
    backend.start()
    try:
        outcome = backend.submit(ExtractJob(receipt[0], "receipt", name="r.png"), timeout=60).result(90)
        assert isinstance(outcome, Done) and outcome.body["fields"]["total"]["raw"] == receipt[1]["total"]
        broken = backend.submit(ExtractJob(b"GIF89a", "receipt", name="x.gif"), timeout=60).result(90)
        assert isinstance(broken, Failed) and broken.status == 422 and broken.message.startswith("x.gif")
    finally:
        backend.close()
