#!/usr/bin/env bash
# Prepare a bare GPU machine (no network) for textlens training: wheels, fonts and the word list
# travel in the repo's ignored .whl/ and .gpu/ folders (made by recipes/gpu/pack.sh).
set -euo pipefail
[ -d .gpu ] || tar xzf .gpupack/gpu.tgz
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
mkdir -p /usr/share/fonts/textlens /usr/share/dict
cp .gpu/fonts/* /usr/share/fonts/textlens/
cp .gpu/words /usr/share/dict/words
