"""textlens studio without a browser: paths, versions and conflicts, undo across restarts, pre-labels, limits,
access, validation, exports, and a real server killed with SIGKILL in the middle of a stream of edits."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from textlens.data.manifest import read_manifest  # noqa: E402
from textlens.studio.app import create_app  # noqa: E402
from textlens.studio.paths import OutsideFolder, find_images, resolve_inside  # noqa: E402
from textlens.studio.server import is_loopback, studio_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WRITE = {"X-Requested-With": "textlens-studio"}
PAGE_WORDS = [["Invoice", "number", "2041"], ["Paid", "by", "Ada", "Lovelace"]]


def make_page(path: Path, lines: list[list[str]] = PAGE_WORDS, size: int = 28) -> list[dict[str, Any]]:
    """Draw ``lines`` of words on a white page with a system font; returns each word's text and box."""
    if not FONT.is_file():
        pytest.skip(f"the test font {FONT} is not installed (fonts-dejavu-core)")
    font = ImageFont.truetype(str(FONT), size)
    width = 60 + max(sum(font.getlength(w + " ") for w in line) for line in lines)
    image = Image.new("RGB", (int(width), 60 + len(lines) * int(size * 2.4)), "white")
    draw = ImageDraw.Draw(image)
    words = []
    for row, line in enumerate(lines):
        x, y = 30.0, 30 + row * size * 2.4
        for word in line:
            draw.text((x, y), word, font=font, fill="black")
            x0, y0, x1, y1 = draw.textbbox((x, y), word, font=font)
            words.append({"text": word, "box": [float(x0), float(y0), float(x1), float(y1)]})
            x += font.getlength(word + " ")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return words


def fake_reader(calls: list[int] | None = None) -> Callable[[], Callable[[np.ndarray], list[dict[str, Any]]]]:
    """Pre-labels without a model: two words whose boxes depend on the page size, at known confidences."""

    def factory() -> Callable[[np.ndarray], list[dict[str, Any]]]:
        def read(image: np.ndarray) -> list[dict[str, Any]]:
            if calls is not None:
                calls.append(image.shape[1])
            return [
                {"text": "Invoice", "box": [30, 30, 130, 60], "confidence": 0.95, "checked": False},
                {"text": "numbcr", "box": [140, 30, 250, 60], "confidence": 0.41, "checked": False},
            ]

        return read

    return factory


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_page(tmp_path / "pages" / "p1.png")
    make_page(tmp_path / "pages" / "p2.png", [["Total", "12.50"]])
    return tmp_path / "pages"


@pytest.fixture
def client(folder: Path) -> Iterator[TestClient]:
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://127.0.0.1") as c:
        yield c


def ready_page(client: TestClient, name: str, seconds: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(f"/api/pages/{name}").json()
        if page["prelabels"]["status"] != "pending" or time.monotonic() > deadline:
            return page
        time.sleep(0.02)


def test_names_that_leave_the_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    make_page(outside)
    inside = tmp_path / "work"
    make_page(inside / "a.png")
    (inside / "link.png").symlink_to(outside)
    (inside / "up").symlink_to(tmp_path)
    for name in ["../secret.png", "/etc/passwd", "a/../../secret.png", "link.png", "up/secret.png", "a\\..\\x", ""]:
        with pytest.raises(OutsideFolder):
            resolve_inside(inside, name)
    assert resolve_inside(inside, "a.png") == (inside / "a.png").resolve()
    assert find_images(inside) == ["a.png"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert studio_url("::1", 8765, None) == "http://[::1]:8765/"


def test_http_paths_outside_the_folder_get_403_and_unknown_ones_404(folder: Path, client: TestClient) -> None:
    (folder.parent / "outside.png").write_bytes((folder / "p1.png").read_bytes())
    (folder / "link.png").symlink_to(folder.parent / "outside.png")
    for url in [
        "/files/%2e%2e/outside.png",
        "/files/..%2foutside.png",
        "/files/link.png",
        "/api/pages/%2e%2e%2fpages%2fp1.png",
        "/api/crop/..%2foutside.png?box=0,0,5,5",
        "/reports/..%2f..%2fmanifest.jsonl",
    ]:
        assert client.get(url).status_code == 403, url
    assert client.get("/files/missing.png").status_code == 404
    assert client.get("/files/%252e%252e/outside.png").status_code in (403, 404)
    assert client.get("/static/..%2fapp.py").status_code == 404
    assert client.get("/files/p1.png").content == (folder / "p1.png").read_bytes()


def test_edits_are_versioned_and_a_stale_write_gets_409(folder: Path, client: TestClient) -> None:
    assert [p["image"] for p in client.get("/api/pages").json()] == ["p1.png", "p2.png"]
    page = ready_page(client, "p1.png")
    words = page["prelabels"]["words"]
    words[1] |= {"text": "number", "checked": True}
    first = client.put("/api/pages/p1.png", json={"version": 0, "words": words}, headers=WRITE)
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = client.put("/api/pages/p1.png", json={"version": 0, "words": words[:1]}, headers=WRITE)
    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == 1 and len(stale.json()["current"]["words"]) == 2
    assert client.put("/api/pages/p1.png", json={"version": 1, "words": words}).status_code == 403  # no header
    bad = client.put(
        "/api/pages/p1.png", json={"version": 1, "words": [{"text": "x", "box": [5, 5, 1, 1]}]}, headers=WRITE
    )
    assert bad.status_code == 422 and "x1 < x0" in bad.json()["message"]
    records = read_manifest(folder / "manifest.jsonl")  # the trainer's and eval's reader
    assert len(records) == 1 and records[0].image == (folder / "p1.png").resolve()
    assert [w.text for w in records[0].words] == ["Invoice", "number"]
    assert records[0].extra["version"] == 1 and records[0].words[1].extra["checked"] is True
    listing = {p["image"]: p for p in client.get("/api/pages").json()}
    assert listing["p1.png"]["annotated"] and listing["p1.png"]["unchecked"] == 1
    assert not listing["p2.png"]["annotated"]


def test_undo_and_redo_work_across_a_restart(folder: Path) -> None:
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://127.0.0.1") as client:
        pre = ready_page(client, "p1.png")["prelabels"]["words"]
        one = [pre[0]]
        first = {"version": 0, "words": one, "before": pre}
        assert client.put("/api/pages/p1.png", json=first, headers=WRITE).is_success
        two = [*one, {"text": "drawn", "box": [1, 2, 30, 20], "ignore": True}]
        assert client.put("/api/pages/p1.png", json={"version": 1, "words": two}, headers=WRITE).is_success
    (log,) = (folder / ".textlens-studio" / "history").glob("*.jsonl")
    with log.open("a") as torn:  # a history line cut short by a kill is dropped when the log is read again
        torn.write('{"op": "save", "cut": 3, "vers')
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://127.0.0.1") as client:
        page = client.get("/api/pages/p1.png").json()
        assert page["version"] == 2 and page["can_undo"] and not page["can_redo"]
        assert page["words"][1] == {"text": "drawn", "box": [1.0, 2.0, 30.0, 20.0], "ignore": True, "checked": False}
        undone = client.post("/api/undo/p1.png", json={"version": 2}, headers=WRITE).json()
        assert undone["version"] == 3 and [w["text"] for w in undone["words"]] == ["Invoice"]
        back_to_prelabels = client.post("/api/undo/p1.png", json={"version": 3}, headers=WRITE).json()
        assert [w["text"] for w in back_to_prelabels["words"]] == ["Invoice", "numbcr"]
        assert not back_to_prelabels["can_undo"]
        assert client.post("/api/undo/p1.png", json={"version": 4}, headers=WRITE).status_code == 409
        redone = client.post("/api/redo/p1.png", json={"version": 4}, headers=WRITE).json()
        assert [w["text"] for w in redone["words"]] == ["Invoice"] and redone["version"] == 5
    assert [w.text for w in read_manifest(folder / "manifest.jsonl")[0].words] == ["Invoice"]


def test_prelabels_are_read_in_the_background_and_cached_on_disk(folder: Path) -> None:
    calls: list[int] = []
    with TestClient(create_app(folder, reader_factory=fake_reader(calls)), base_url="http://127.0.0.1") as client:
        assert ready_page(client, "p2.png")["prelabels"]["status"] == "ready"
        ready_page(client, "p1.png")
    assert len(calls) == 2
    with TestClient(create_app(folder, reader_factory=fake_reader(calls)), base_url="http://127.0.0.1") as client:
        page = client.get("/api/pages/p1.png").json()
        assert page["prelabels"]["status"] == "ready" and page["prelabels"]["words"][1]["confidence"] == 0.41
    assert len(calls) == 2  # nothing read twice


def test_only_loopback_hosts_or_the_token_get_in(folder: Path) -> None:
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://evil.example") as client:
        assert client.get("/api/pages").status_code == 403
    app = create_app(folder, token="s3cret-token", reader_factory=fake_reader())
    with TestClient(app, base_url="http://192.168.1.9:8765") as client:
        assert client.get("/api/pages").status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        opened = client.get("/?token=s3cret-token")
        assert opened.status_code == 200 and "textlens studio" in opened.text
        assert client.get("/api/pages").status_code == 200  # the cookie set by the first visit


def test_uploads_are_limited_in_bytes_and_pixels(folder: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("L", (1500, 1000), 255).save(big)
    small = tmp_path / "small.png"
    make_page(small, [["Hello"]])
    app = create_app(folder, reader_factory=fake_reader(), max_upload=200_000, max_pixels=1_000_000)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        too_many_bytes = client.post("/api/upload?name=x.png", content=b"\0" * 200_001, headers=WRITE)
        assert too_many_bytes.status_code == 413
        too_many_pixels = client.post("/api/upload?name=big.png", content=big.read_bytes(), headers=WRITE)
        assert too_many_pixels.status_code == 413 and "1500×1000" in too_many_pixels.json()["message"]
        not_image = client.post("/api/upload?name=x.png", content=b"hello", headers=WRITE)
        assert not_image.status_code == 422
        assert client.post("/api/upload?name=x.exe", content=small.read_bytes(), headers=WRITE).status_code == 422
        ok = client.post("/api/upload?name=..%2F..%2Fsmall.png", content=small.read_bytes(), headers=WRITE)
        assert ok.status_code == 200 and ok.json() == {"image": "uploads/small.png"}
        assert (folder / "uploads" / "small.png").read_bytes() == small.read_bytes()
        assert "uploads/small.png" in [p["image"] for p in client.get("/api/pages").json()]
        assert ready_page(client, "uploads/small.png")["prelabels"]["status"] == "ready"


def perfect_but_one(truth: list[dict[str, Any]]) -> Callable[[str | None, str | None], Callable[[np.ndarray], Any]]:
    """A model that finds every word of the first page and misreads 'Lovelace' as 'Lovelacc' (confidence 0.5)."""
    from textlens.eval.layout import PredWord

    def factory(detector: str | None, recognizer: str | None) -> Callable[[np.ndarray], Any]:
        def read(image: np.ndarray) -> list[PredWord]:
            if image.shape[1] < 300:  # the small second page: nothing found
                return []
            return [
                PredWord("Lovelacc" if w["text"] == "Lovelace" else w["text"], tuple(w["box"]), confidence=0.5)
                for w in truth
            ]

        return read

    return factory


def test_validation_scores_like_eval_and_lists_errors_worst_first(folder: Path, tmp_path: Path) -> None:
    truth = make_page(folder / "p1.png")
    app = create_app(folder, reader_factory=fake_reader(), validate_factory=perfect_but_one(truth))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.put("/api/pages/p1.png", json={"version": 0, "words": truth}, headers=WRITE).is_success
        p2 = [
            {"text": "Total", "box": [30, 30, 110, 60]},
            {"text": "smudge", "box": [120, 30, 200, 60], "ignore": True},
        ]
        assert client.put("/api/pages/p2.png", json={"version": 0, "words": p2}, headers=WRITE).is_success
        job = client.post("/api/validate", json={"recognizer": "crnn_fast"}, headers=WRITE).json()
        deadline = time.monotonic() + 20
        while (state := client.get(f"/api/validate/{job['id']}").json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state["status"] == "done", state["message"]
        summary, errors = state["result"]["summary"], state["result"]["errors"]
        assert summary["pages"] == 2 and summary["words"] == 8
        assert summary["word_accuracy"] == pytest.approx(6 / 8) and summary["det_f1"] == pytest.approx(2 * 7 / 15)
        assert [(e["kind"], e["truth"], e["pred"]) for e in errors] == [
            ("misread", "Lovelace", "Lovelacc"),
            ("missed", "Total", ""),
        ]
        assert errors[0]["confidence"] == 0.5 and errors[0]["page"] == "p1.png"
        report = client.get(state["result"]["report"])
        assert report.status_code == 200 and "Lovelacc" in report.text
        crop = client.get(f"/api/crop/p1.png?box={','.join(map(str, errors[0]['box']))}&height=40")
        assert crop.status_code == 200 and Image.open(io.BytesIO(crop.content)).height == 40


def test_a_validation_with_an_unknown_model_fails_with_its_name(folder: Path, client: TestClient) -> None:
    words = [{"text": "Invoice", "box": [30, 30, 130, 60]}]
    assert client.put("/api/pages/p1.png", json={"version": 0, "words": words}, headers=WRITE).is_success
    job = client.post("/api/validate", json={"recognizer": "no_such_model"}, headers=WRITE).json()
    deadline = time.monotonic() + 20
    while (state := client.get(f"/api/validate/{job['id']}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["status"] == "failed" and "no_such_model" in state["message"] and state["result"] is None
    assert client.get("/api/validate/nope").status_code == 404


def test_exports_read_back_with_the_project_readers(folder: Path) -> None:
    from textlens.data.readers import open_dataset

    truth = make_page(folder / "p1.png")
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://127.0.0.1") as client:
        truth[1]["ignore"] = True
        assert client.put("/api/pages/p1.png", json={"version": 0, "words": truth}, headers=WRITE).is_success
        p2 = [{"text": "Total", "box": [30, 30, 110, 60]}]
        assert client.put("/api/pages/p2.png", json={"version": 0, "words": p2}, headers=WRITE).is_success
        icdar = client.post("/api/export", json={"kind": "icdar2015"}, headers=WRITE).json()
        assert icdar == {"folder": "exports/icdar2015", "pages": 2, "words": 8}
        split = client.post("/api/export", json={"kind": "split", "val_fraction": 0.5}, headers=WRITE).json()
        assert split["train"] + split["val"] == 2
        bad = client.post("/api/export", json={"kind": "split", "val_fraction": 1.5}, headers=WRITE)
        assert bad.status_code == 422
    pages = {Path(s.source).name: s for s in open_dataset("icdar2015", folder / "exports" / "icdar2015")}
    words = pages["p1.png"].words
    assert [w.text for w in words if not w.is_dont_care] == ["Invoice", "2041", "Paid", "by", "Ada", "Lovelace"]
    assert words[1].is_dont_care and words[0].box == pytest.approx(truth[0]["box"], abs=0.51)
    both = read_manifest(folder / "exports/split/train.jsonl") + read_manifest(folder / "exports/split/val.jsonl")
    assert sorted(r.image.name for r in both) == ["p1.png", "p2.png"]


def test_word_crops_export_as_lmdb(folder: Path) -> None:
    pytest.importorskip("lmdb")
    from textlens.data.lmdb_store import LmdbReader

    truth = make_page(folder / "p1.png")
    truth[1]["ignore"] = True
    with TestClient(create_app(folder, reader_factory=fake_reader()), base_url="http://127.0.0.1") as client:
        assert client.put("/api/pages/p1.png", json={"version": 0, "words": truth}, headers=WRITE).is_success
        out = client.post("/api/export", json={"kind": "lmdb", "val_fraction": 0.0}, headers=WRITE).json()
    assert out == {"folder": "exports/lmdb", "train": 6, "val": 0}  # the 6 care words; "number" is ignored
    store = LmdbReader(folder / "exports/lmdb/train")
    texts = sorted(store[i].text for i in range(len(store)))
    assert texts == ["2041", "Ada", "Invoice", "Lovelace", "Paid", "by"]
    assert store[0].image.shape[0] >= 20


# -- a real server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cli(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """``textlens studio FOLDER ARGS`` in a child process; returns it and the URL it printed once listening."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "textlens", "studio", str(folder), "--threads", "1", *args]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(40)
    if not lines or "http://" not in lines[0]:
        proc.kill()
        raise AssertionError(f"the studio did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, lines[0].split(": ", 1)[1].strip()


def raw_get(port: int, target: str) -> int:
    """The status of a GET sent byte for byte, so no client tidies ``..`` or percent escapes away."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        return int(s.recv(64).split(b" ")[1])


def test_killing_the_server_mid_stream_loses_no_acknowledged_edit(folder: Path) -> None:
    port = free_port()
    proc, url = start_cli(folder, "--port", str(port))
    assert url == f"http://127.0.0.1:{port}/"
    acked: dict[int, list[dict[str, Any]]] = {}
    sent: dict[int, list[dict[str, Any]]] = {}
    try:
        for target in ["/files/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd", "/files/..%2F..%2Fetc%2Fpasswd"]:
            assert raw_get(port, target) in (403, 404), target
        with httpx.Client(base_url=url, headers=WRITE, timeout=10) as client:
            version = 0
            for i in range(400):
                words = [{"text": f"edit{i}", "box": [i % 50, 1, 60 + i % 50, 20], "checked": True}]
                sent[version + 1] = words
                if i == 25:  # from here on the server may die under any request
                    threading.Timer(0.15, proc.send_signal, (signal.SIGKILL,)).start()
                try:
                    response = client.put("/api/pages/p1.png", json={"version": version, "words": words})
                except httpx.TransportError:
                    break
                assert response.status_code == 200, response.text
                version = response.json()["version"]
                acked[version] = words
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = max(acked)
    assert last >= 26 and last < 400, "the kill came too late to land mid-stream"
    records = read_manifest(folder / "manifest.jsonl")
    on_disk = records[0].extra["version"]
    assert on_disk in (last, last + 1)  # the edit in flight at the kill may have reached the disk, unacknowledged
    expected = acked[on_disk] if on_disk == last else sent[on_disk]
    assert [(w.text, list(w.box)) for w in records[0].words] == [(w["text"], w["box"]) for w in expected]


def test_a_non_loopback_address_prints_a_token_and_sigterm_stops_it(folder: Path) -> None:
    port = free_port()
    proc, url = start_cli(folder, "--host", "0.0.0.0", "--port", str(port))
    try:
        assert url.startswith(f"http://0.0.0.0:{port}/?token=") and len(url.split("token=")[1]) >= 30
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/pages", timeout=10).status_code == 401
        token = url.split("token=")[1]
        assert httpx.get(f"{base}/api/pages?token={token}", timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_studio_imports_without_torch_and_the_cli_refuses_a_missing_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.test_torch_free import run_without_torch
    from textlens.cli.app import app

    modules = ["app", "server", "store", "prelabel", "validate", "export"]
    imports = "".join(f"import textlens.studio.{m}\n" for m in modules)
    result = run_without_torch(imports + "print('torch' in sys.modules)")
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
    missing = CliRunner().invoke(app, ["studio", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a folder" in missing.output


def test_pdf_pages_are_rendered_listed_prelabeled_and_saved(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "scans"
    make_page(folder / "p1.png")
    make_page(tmp_path / "a.png")
    make_page(tmp_path / "b.png", [["Total", "12.50"]])
    first, second = (Image.open(tmp_path / n).convert("RGB") for n in ("a.png", "b.png"))
    first.save(folder / "doc.pdf", save_all=True, append_images=[second], resolution=72.0)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF")
    page2 = ".textlens-studio/pages/doc-p2.png"
    with caplog.at_level("WARNING", logger="textlens.studio"):
        app = create_app(folder, reader_factory=fake_reader())
    assert "broken.pdf" in caplog.text and app.state.pdf_problems[0].startswith("broken.pdf")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        listed = [p["image"] for p in client.get("/api/pages").json()]
        assert listed == [".textlens-studio/pages/doc-p1.png", page2, "p1.png"]
        assert client.get(f"/files/{page2}").status_code == 200
        page = ready_page(client, page2)
        words = page["prelabels"]["words"]
        assert [w["text"] for w in words]
        saved = client.put(f"/api/pages/{page2}", json={"version": 0, "words": words}, headers=WRITE)
        assert saved.status_code == 200 and saved.json()["version"] == 1
    records = read_manifest(folder / "manifest.jsonl")  # eval's reader finds the rendered image
    assert records[0].image == (folder / page2).resolve() and records[0].load_image().shape[2] == 3
    rendered = (folder / page2).stat().st_mtime_ns
    create_app(folder, reader_factory=fake_reader())  # the PDF did not change: its pages are not rendered again
    assert (folder / page2).stat().st_mtime_ns == rendered
