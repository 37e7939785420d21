#!/usr/bin/env bash
# `make demo`: read the bundled sample page with the bundled models and print its text.
set -euo pipefail
textlens=${TEXTLENS:-.venv/bin/textlens}
exec "$textlens" read examples/sample.png
