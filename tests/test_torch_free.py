"""Inference never imports torch: the core install (no torch) must read, write, evaluate and run the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK_TORCH = textwrap.dedent("""
    import importlib.abc, sys

    class BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch.") or name.startswith("pytorch_lightning"):
                raise ImportError(f"torch is not installed in the core install (import of {name})")
            return None

    sys.meta_path.insert(0, BlockTorch())
""")

INFERENCE_MODULES = [
    "textlens",
    "textlens.document",
    "textlens.languages",
    "textlens.io",
    "textlens.io.notebook",
    "textlens.preprocess",
    "textlens.runtime",
    "textlens.pipeline",
    "textlens.eval",
    "textlens.eval.report",
    "textlens.data.manifest",
    "textlens.cli.app",
]


def run_without_torch(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_inference_modules_import_without_torch() -> None:
    imports = "\n".join(f"import {m}" for m in INFERENCE_MODULES)
    result = run_without_torch(imports + "\nprint('torch' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_cli_help_and_version_run_without_torch() -> None:
    result = run_without_torch("""
        from typer.testing import CliRunner
        from textlens.cli.app import app
        runner = CliRunner()
        for args in (["version"], ["--help"], ["read", "--help"], ["eval", "--help"], ["languages"]):
            out = runner.invoke(app, args)
            assert out.exit_code == 0, (args, out.output)
        print("ok")
    """)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip().endswith("ok")
