"""Reading is offline: ``textlens read`` opens no network socket and leaves no telemetry state behind.

onnxruntime 1.32's telemetry uploader (1DS) starts when onnxruntime is imported and first resolves
``mobile.events.data.microsoft.com`` about 9 s later, so a bare ``textlens read`` of the sample
(about 2 s) exits before it would show. The child process here runs the same CLI in-process and then
stays alive past that delay, so the uploader, if it were running, is caught.

Two checks:

* strace (primary): the read runs in a network namespace with no interface up (``unshare --net``)
  under ``strace -f``, which sees sockets opened by C/C++ code in any thread, onnxruntime's included.
* audit hook and cache directory (no strace or root needed): Python-level socket and HTTP events are
  recorded with ``sys.addaudithook``; this cannot see C++ sockets, so it also checks that onnxruntime
  wrote no telemetry device id or event database under ``$XDG_CACHE_HOME``, which its uploader does at
  import time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample.png"
EXPECTED_TEXT = ("Invoice 2041", "Ada Lovelace", "Total due")

# onnxruntime's uploader first resolves its host ~9 s after import; staying 12 s after the read (which
# itself starts well after the import) leaves a few seconds of margin on a loaded machine.
LINGER_S = 12.0

# Runs ``textlens read <sample>`` through the real CLI entry point, then lingers; exits with the CLI's
# status. Argument 1: seconds to linger; argument 2: where to write audit events as JSON ("" for none).
CHILD = textwrap.dedent("""
    import json, sys, time

    linger, events_path = float(sys.argv[1]), sys.argv[2]
    events = []
    if events_path:
        WATCHED = ("socket.", "http.client.", "urllib.", "ftplib.", "smtplib.", "webbrowser.")

        def hook(event, args):
            if event.startswith(WATCHED):
                events.append([event, repr(args)[:300]])

        sys.addaudithook(hook)

    from textlens.cli.app import main

    sys.argv = ["textlens", "read", sys.argv[3]]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    time.sleep(linger)
    if events_path:
        with open(events_path, "w") as f:
            json.dump(events, f)
    sys.exit(code)
""")

# A socket that can reach a network (anything but AF_UNIX), or a connect to an IP address or to the
# name-service cache daemon (glibc asks nscd first when it resolves a host name).
SOCKET_RE = re.compile(r"\bsocket\((AF_\w+)")
CONNECT_RE = re.compile(r"\bconnect\(\d+, \{sa_family=(AF_INET6?|AF_UNIX, sun_path=\"[^\"]*nscd[^\"]*\")")


def _child_env(tmp_path: Path) -> dict[str, str]:
    """The test's environment without a telemetry switch of its own: textlens must set it itself."""
    env = dict(os.environ)
    env.pop("ORT_DISABLE_TELEMETRY", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # where onnxruntime's telemetry would keep its files
    env["TEXTLENS_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    (tmp_path / "cache").mkdir()
    return env


def _child_cmd(linger: float, events_path: Path | None) -> list[str]:
    return [sys.executable, "-c", CHILD, str(linger), str(events_path or ""), str(SAMPLE)]


def _assert_read_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, f"read failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    for text in EXPECTED_TEXT:
        assert text in proc.stdout, f"{text!r} not in the read's output:\n{proc.stdout}"


def _telemetry_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))


def _require_sandbox() -> None:
    """Skip unless strace can trace here and a network namespace can be created (root in CI)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(
        ["unshare", "--net", "--", "strace", "-f", "-qq", "-o", os.devnull, "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot trace inside a new network namespace here (needs root): {probe.stderr.strip()[:300]}")


@pytest.mark.slow
def test_read_opens_no_network_socket_under_strace(tmp_path: Path) -> None:
    """In a namespace with no network, a read and the seconds after it open no AF_INET/AF_INET6 socket."""
    _require_sandbox()
    trace = tmp_path / "strace.txt"
    cmd = ["unshare", "--net", "--", "strace", "-f", "-qq", "-e", "trace=socket,connect", "-o", str(trace)]
    proc = subprocess.run(
        cmd + _child_cmd(LINGER_S, None),
        cwd=REPO,
        env=_child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_read_ok(proc)
    lines = trace.read_text().splitlines()
    offending = [
        line for line in lines if ((m := SOCKET_RE.search(line)) and m.group(1) != "AF_UNIX") or CONNECT_RE.search(line)
    ]
    assert not offending, "the read opened network sockets:\n" + "\n".join(offending[:20])
    assert not _telemetry_files(tmp_path / "cache")


def test_read_makes_no_python_socket_calls_and_no_telemetry_files(tmp_path: Path) -> None:
    """Without strace: no Python-level socket/HTTP audit event, and onnxruntime's telemetry never started."""
    events_path = tmp_path / "events.json"
    proc = subprocess.run(
        _child_cmd(0.0, events_path),
        cwd=REPO,
        env=_child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_read_ok(proc)
    events = json.loads(events_path.read_text())
    assert events == [], f"the read made network calls from Python: {events[:20]}"
    # onnxruntime's uploader writes its device id and event database here as soon as it starts.
    assert _telemetry_files(tmp_path / "cache") == []


def test_onnxruntime_imported_first_is_reported(tmp_path: Path) -> None:
    """An application that imports onnxruntime before textlens gets a warning: its uploader already runs."""
    code = textwrap.dedent(f"""
        import onnxruntime
        from textlens.runtime.session import create_session

        create_session({str(REPO / "textlens/models/weights/crnn_fast/model.onnx")!r}, threads=1)
    """)
    # The process exits long before the uploader's first upload; its files go to a throw-away cache.
    proc = subprocess.run(
        [sys.executable, "-W", "always::RuntimeWarning", "-c", code],
        cwd=REPO,
        env=_child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "imported before textlens could switch its telemetry off" in proc.stderr
    assert "ORT_DISABLE_TELEMETRY=1" in proc.stderr
