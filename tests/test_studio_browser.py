"""textlens studio in a real browser: Playwright drives Debian's chromium (headless) against ``textlens studio``
started as a user starts it (a real uvicorn on a loopback port, the bundled models pre-labelling).

TEXTLENS_STUDIO_SCREENSHOTS=FOLDER also saves the pictures of docs/studio.md there; the key count and timings
of docs/studio.md are printed (run with ``-s``); TEXTLENS_STUDIO_MEASURE=1 also measures the 300-dpi A4 page of
docs/studio.md (about a minute, so not by default).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from tests.test_studio import FONT, free_port, make_page, start_cli  # noqa: E402
from textlens.data.manifest import read_manifest  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TWENTY = [
    ["The", "quick", "brown", "fox", "jumps"],
    ["over", "the", "lazy", "dog", "while"],
    ["seven", "bold", "wizards", "quietly", "hum"],
    ["a", "jazz", "tune", "near", "Quebec"],
]
SHOTS = os.environ.get("TEXTLENS_STUDIO_SCREENSHOTS")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("studio") / "pages"
    truth = {
        "a_twenty.png": make_page(folder / "a_twenty.png", TWENTY, size=34),
        "b_invoice.png": make_page(folder / "b_invoice.png"),
        "c_total.png": make_page(folder / "c_total.png", [["Total", "12.50", "EUR"]]),
        "d_edit.png": make_page(folder / "d_edit.png", [["Total", "due", "EUR"], ["Thank", "you"]]),
    }
    port = free_port()
    proc, url = start_cli(folder, "--port", str(port))
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            yield {"folder": folder, "url": url, "truth": truth, "browser": browser, "proc": proc}
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except Exception:
            proc.kill()
            proc.wait()


def open_tab(studio: dict[str, Any], page_name: str) -> Any:
    tab = studio["browser"].new_page(viewport={"width": 1280, "height": 760})
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.errors = errors
    tab.goto(f"{studio['url']}#{page_name}")
    tab.wait_for_selector(f"#pages li.current[data-image='{page_name}']")
    tab.wait_for_selector("#overlay .word", timeout=30_000)  # the pre-labels (read in the background)
    return tab


def wait_saved(tab: Any, version: int) -> None:
    tab.wait_for_function(f"document.getElementById('status').textContent.includes('v{version} saved')")


def screen_point(tab: Any, x: float, y: float) -> tuple[float, float]:
    """Where the image pixel (x, y) is on the screen, through the overlay's current transform."""
    return tab.evaluate(
        "([x, y]) => { const m = document.getElementById('overlay').getScreenCTM();"
        " return [m.a * x + m.e, m.d * y + m.f]; }",
        [x, y],
    )


def draw_box(tab: Any, box: list[float]) -> None:
    x0, y0 = screen_point(tab, box[0], box[1])
    x1, y1 = screen_point(tab, box[2], box[3])
    tab.mouse.move(x0, y0)
    tab.mouse.down()
    tab.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=3)
    tab.mouse.move(x1, y1, steps=3)
    tab.mouse.up()
    tab.wait_for_selector("#text-input:not([hidden])")


def current_box(tab: Any) -> list[float]:
    meta = tab.text_content("#word-meta")
    return [float(v) for v in meta.split("box ")[1].split(", ")]


def iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def saved_words(folder: Path, name: str) -> list[Any]:
    records = {r.image.name: r for r in read_manifest(folder / "manifest.jsonl")}
    return list(records[name].words) if name in records else []


def test_accept_draw_type_undo_and_reload(studio: dict[str, Any]) -> None:
    folder = studio["folder"]
    tab = open_tab(studio, "b_invoice.png")
    first = tab.text_content("#word-text")
    tab.keyboard.press("Enter")  # accept the least confident pre-label
    wait_saved(tab, 1)
    assert [w.text for w in saved_words(folder, "b_invoice.png") if w.extra.get("checked")] == [first]

    tab.keyboard.press("b")
    draw_box(tab, [40, 160, 150, 188])  # an empty stretch under the second line
    wait_saved(tab, 2)  # the new box is saved at once, still without text
    tab.keyboard.type("drawn")
    tab.keyboard.press("Enter")
    wait_saved(tab, 3)
    tab.keyboard.press("e")
    tab.keyboard.type("WRONG")
    tab.keyboard.press("Enter")
    wait_saved(tab, 4)
    assert "WRONG" in [w.text for w in saved_words(folder, "b_invoice.png")]
    tab.keyboard.press("z")
    wait_saved(tab, 5)

    tab.reload()
    tab.wait_for_selector("#overlay .word")
    wait_saved(tab, 5)
    words = saved_words(folder, "b_invoice.png")
    texts = [w.text for w in words]
    assert "drawn" in texts and "WRONG" not in texts
    drawn = words[texts.index("drawn")]
    assert drawn.box == pytest.approx((40, 160, 150, 188), abs=1.5) and drawn.extra["checked"]
    assert tab.locator("#overlay .word").count() == len(words)
    assert tab.errors == []
    tab.close()


def test_two_tabs_on_one_page_get_a_conflict_not_a_lost_edit(studio: dict[str, Any]) -> None:
    folder = studio["folder"]
    first, second = open_tab(studio, "c_total.png"), open_tab(studio, "c_total.png")
    first.keyboard.press("i")  # mark the current word "ignore"
    wait_saved(first, 1)
    second.keyboard.press("Delete")  # based on version 0: must not overwrite the first tab's edit
    second.wait_for_selector("#conflict:not([hidden])")
    assert "version 1" in second.text_content("#conflict-text")
    if SHOTS:
        second.screenshot(path=str(Path(SHOTS) / "studio-conflict.png"))
    words = saved_words(folder, "c_total.png")
    assert sum(w.ignore for w in words) == 1 and len(words) == first.locator("#overlay .word").count()
    second.click("#conflict-theirs")
    wait_saved(second, 1)
    assert second.locator("#overlay .word.ignore").count() == 1
    second.keyboard.press("Enter")  # now based on version 1: saved
    wait_saved(second, 2)
    assert sum(w.ignore for w in saved_words(folder, "c_total.png")) == 1
    assert first.errors == [] and second.errors == []
    first.close()
    second.close()


def test_merge_split_and_draw_a_polygon(studio: dict[str, Any]) -> None:
    folder = studio["folder"]
    tab = open_tab(studio, "d_edit.png")
    for _ in range(tab.locator("#overlay .word").count()):
        if tab.text_content("#word-text") == "Total":
            break
        tab.keyboard.press("Tab")
    assert tab.text_content("#word-text") == "Total"
    tab.keyboard.press("m")  # merge with "due", its right-hand neighbour
    wait_saved(tab, 1)
    assert tab.text_content("#word-text") == "Total due"
    merged = current_box(tab)
    tab.keyboard.press("s")  # split at the space again
    wait_saved(tab, 2)
    words = {w.text: w for w in saved_words(folder, "d_edit.png")}
    assert "Total due" not in words
    left, right = words["Total"].box, words["due"].box
    assert left[2] == pytest.approx(right[0]) and left[0] == pytest.approx(merged[0], abs=1)
    assert right[2] == pytest.approx(merged[2], abs=1)

    corners = [(20, 150), (150, 146), (152, 185), (22, 188)]
    tab.keyboard.press("g")
    for x, y in corners:
        tab.mouse.click(*screen_point(tab, x, y))
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#text-input:not([hidden])")
    tab.keyboard.type("slanted")
    tab.keyboard.press("Enter")
    wait_saved(tab, 4)
    drawn = {w.text: w for w in saved_words(folder, "d_edit.png")}["slanted"]
    assert drawn.polygon is not None and len(drawn.polygon) == 4
    for (x, y), (px, py) in zip(corners, drawn.polygon, strict=True):
        assert (px, py) == pytest.approx((x, y), abs=1.5)
    assert drawn.box == pytest.approx((20, 146, 152, 188), abs=1.5)
    assert tab.errors == []
    tab.close()


def test_traversal_from_the_browser_is_refused(studio: dict[str, Any]) -> None:
    tab = studio["browser"].new_page()
    for target in ["files/..%2f..%2f..%2fetc%2fpasswd", "files/%2e%2e/%2e%2e/etc/passwd", "reports/..%2f..%2fx"]:
        response = tab.goto(studio["url"] + target)
        assert response is not None and response.status in (403, 404), target
        assert "root:" not in tab.content()
    tab.close()


def test_a_twenty_word_page_by_keyboard_alone(studio: dict[str, Any]) -> None:
    """Annotate the 20-word page to its truth, counting key presses (and mouse boxes for words not found)."""
    folder, truth = studio["folder"], studio["truth"]["a_twenty.png"]
    tab = open_tab(studio, "a_twenty.png")
    keys, boxes = 0, 0
    actions = {"accepted": 0, "retyped": 0, "deleted": 0}
    claimed: set[int] = set()
    version = 0

    def press(key: str) -> None:
        nonlocal keys
        tab.keyboard.press(key)
        keys += 1

    def typed(text: str) -> None:
        nonlocal keys
        tab.keyboard.type(text)
        keys += len(text)

    while tab.locator("#overlay .word").count() and "accepted" not in tab.text_content("#word-meta"):
        box, text = current_box(tab), tab.text_content("#word-text")
        best = max((i for i in range(len(truth)) if i not in claimed), key=lambda i: iou(box, truth[i]["box"]))
        if iou(box, truth[best]["box"]) >= 0.5:
            claimed.add(best)
            if text != truth[best]["text"]:
                press("e")
                typed(truth[best]["text"])
            actions["retyped" if text != truth[best]["text"] else "accepted"] += 1
            press("Enter")
        else:
            actions["deleted"] += 1
            press("Delete")
        version += 1
        wait_saved(tab, version)
        if SHOTS and version == 8:
            tab.screenshot(path=str(Path(SHOTS) / "studio-annotate.png"))
    for i in (i for i in range(len(truth)) if i not in claimed):
        press("b")
        draw_box(tab, truth[i]["box"])
        boxes += 1
        typed(truth[i]["text"])
        press("Enter")
        version += 2
        wait_saved(tab, version)
    words = saved_words(folder, "a_twenty.png")
    assert sorted(w.text for w in words) == sorted(w["text"] for w in truth)
    assert all(w.extra["checked"] for w in words)
    for word in words:
        assert max(iou(list(word.box), t["box"]) for t in truth if t["text"] == word.text) >= 0.5
    stats = tab.evaluate("window.studioStats")
    acks = sorted(stats["acks"])
    print(
        "\nstudio 20-word page:",
        json.dumps(
            {
                "key_presses": keys,
                "mouse_boxes": boxes,
                **actions,
                "words_found_by_prelabels": len(claimed),
                "edits_acknowledged": len(acks),
                "ack_ms_median": round(acks[len(acks) // 2], 1),
                "ack_ms_max": round(acks[-1], 1),
                "first_paint_ms": round(stats["firstPaint"], 1),
            }
        ),
    )
    assert keys >= len(truth) and len(acks) == version
    assert tab.errors == []
    tab.close()


def test_validate_view_runs_the_bundled_models_and_links_the_report(studio: dict[str, Any]) -> None:
    tab = open_tab(studio, "b_invoice.png")
    tab.click("header .tab[data-view='validate']")
    tab.click("#validate-run")
    tab.wait_for_function("document.getElementById('validate-status').textContent === 'done'", timeout=40_000)
    metrics = dict(
        (row.locator("td").nth(0).text_content(), row.locator("td").nth(1).text_content())
        for row in tab.locator("#metrics tr").all()
    )
    assert {"page CER", "word accuracy", "detection F1", "end-to-end F1"} <= set(metrics)
    assert int(metrics["pages"]) == len(read_manifest(studio["folder"] / "manifest.jsonl"))
    report = tab.get_attribute("#report-link a", "href")
    answer = tab.request.get(studio["url"].rstrip("/") + report)
    assert answer.status == 200 and "textlens evaluation" in answer.text()
    rows = tab.locator("#errors tr").count() - 1
    assert rows >= 1  # at least the drawn "drawn" box, which the model cannot read as such
    tab.select_option("#filter-kind", "missed")
    kinds = {r.text_content() for r in tab.locator("#errors tr td:first-child").all()}
    assert kinds <= {"missed"}
    if SHOTS:
        tab.select_option("#filter-kind", "")
        tab.screenshot(path=str(Path(SHOTS) / "studio-validate.png"))
    tab.click("header .tab[data-view='export']")
    tab.click("#export-icdar")
    tab.wait_for_function("document.getElementById('export-result').textContent.includes('icdar2015')")
    assert json.loads(tab.text_content("#export-result"))["pages"] >= 2
    assert tab.errors == []
    tab.close()


def test_the_server_stops_gracefully(studio: dict[str, Any]) -> None:
    proc = studio["proc"]
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert proc.wait(20) == 0 and time.monotonic() - started < 20


@pytest.mark.skipif(not os.environ.get("TEXTLENS_STUDIO_MEASURE"), reason="set TEXTLENS_STUDIO_MEASURE=1 to measure")
def test_measure_an_a4_page(tmp_path: Path) -> None:
    """docs/studio.md's timings: first paint of a 300-dpi A4 page with cached pre-labels, and edit acks on it."""
    from PIL import Image, ImageDraw, ImageFont

    vocabulary = "invoice total amount paid customer number date order shipping address account balance due tax"
    rng = random.Random(0)
    font = ImageFont.truetype(str(FONT), 42)  # about 10 pt at 300 dpi
    page = Image.new("RGB", (2480, 3508), "white")
    draw = ImageDraw.Draw(page)
    for row in range(40):
        draw.text((200, 200 + row * 78), " ".join(rng.choices(vocabulary.split(), k=8)), font=font, fill="black")
    page.save(tmp_path / "a4.png")
    proc, url = start_cli(tmp_path, "--port", str(free_port()))
    try:
        import httpx

        started = time.monotonic()
        while httpx.get(url + "api/pages/a4.png", timeout=10).json()["prelabels"]["status"] == "pending":
            time.sleep(0.1)
        prelabel_s = time.monotonic() - started
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            paints = []
            for _ in range(5):
                tab = browser.new_page(viewport={"width": 1280, "height": 760})
                tab.goto(url + "#a4.png")
                tab.wait_for_function("window.studioStats.firstPaint !== null")
                paints.append(tab.evaluate("window.studioStats.firstPaint"))
                boxes = tab.locator("#overlay .word").count()
                tab.close()
            tab = browser.new_page(viewport={"width": 1280, "height": 760})
            tab.goto(url + "#a4.png")
            tab.wait_for_function("window.studioStats.firstPaint !== null")
            for i in range(100):
                tab.keyboard.press("Enter")
                tab.wait_for_function(f"window.studioStats.acks.length >= {i + 1}")
            acks = sorted(tab.evaluate("window.studioStats.acks"))
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    result = {
        "prelabels_s": round(prelabel_s, 1),
        "boxes": boxes,
        "first_paint_ms": [round(v) for v in paints],
        "first_paint_ms_median": round(statistics.median(paints)),
        "ack_ms_median": round(statistics.median(acks), 1),
        "ack_ms_p90": round(acks[89], 1),
        "ack_ms_max": round(acks[-1], 1),
    }
    print("\nstudio A4 page:", json.dumps(result))
    assert boxes > 100 and result["first_paint_ms_median"] < 1500
