#!/usr/bin/env bash
# `make demo`: read the bundled sample page with the bundled models and print its text.
# Before a recogniser is bundled it says so and shows what works without one (never a made-up reading).
set -euo pipefail
textlens=${TEXTLENS:-.venv/bin/textlens}
sample=examples/sample.png
if "$textlens" version --verbose | grep -q "bundled models: .*crnn"; then
  exec "$textlens" read "$sample"
fi
echo "No recognition model is bundled yet, so textlens cannot read the text of $sample (see recipes/)."
echo "What runs without one: preprocessing (deskew, Sauvola binarisation), written to out/demo/."
mkdir -p out/demo
"$textlens" preprocess "$sample" -o out/demo/sample-preprocessed.png --deskew --binarize sauvola
