#!/usr/bin/env bash
# Pack what a bare, offline GPU machine needs to train textlens models: the wheels its image lacks (.whl/),
# and in .gpupack/gpu.tgz the Latin subsets of every installed font, the word list, and the allowed training
# splits of ../shared/data (FUNSD train pages as they are; SROIE receipts re-encoded smaller). Both folders are
# git-ignored: the research-only data never enters the repo. recipes/gpu/setup_device.sh unpacks it there.
#
# usage (repo root, after `make system-deps` installed the fonts): recipes/gpu/pack.sh [DATA=../shared/data]
set -euo pipefail
DATA=${DATA:-../shared/data}
PY=${PYTHON:-python}
rm -rf .gpu .gpupack && mkdir -p .gpu/fonts .gpu/data .gpupack .whl

# Wheels for the device image's Python 3.12 (torch, lightning, numpy, OpenCV, onnx are already there).
for pkg in rapidfuzz pyclipper shapely lmdb; do  # pypdfium2: only PDF input imports it
  ls .whl/"$pkg"-* >/dev/null 2>&1 || "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "$pkg"
done

# Fonts: only the glyphs of the latin charset (plus layout tables), ~10x smaller than the full files.
"$PY" - <<'PY'
import hashlib
from pathlib import Path

from fontTools import subset

from textlens.data.charset import LATIN
from textlens.data.synth.fonts import select_fonts

chars = " " + LATIN + "\u00a0\u2019\u2018\u201c\u201d\u2013\u2014"
options = subset.Options()
options.layout_features = ["*"]
options.name_IDs = ["*"]
options.name_languages = ["*"]
options.notdef_outline = True
for font in select_fonts("all"):
    src = Path(font.path)
    # Flattened into one folder: a short hash of the source path keeps same-named files apart.
    dst = Path(".gpu/fonts") / f"{hashlib.sha1(str(src).encode()).hexdigest()[:6]}-{src.name}"
    try:
        tt = subset.load_font(str(src), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(tt)
        subset.save_font(tt, str(dst), options)
    except Exception as exc:  # a font fontTools cannot subset travels whole
        print(f"{src}: kept whole ({exc})")
        dst.write_bytes(src.read_bytes())
PY
words=/usr/share/dict/words; [ -f "$words" ] || words=/usr/share/dict/american-english
[ -f "$words" ] && cp "$words" .gpu/words

cp -r "$DATA/funsd_train" .gpu/data/
cp -r "$DATA/mnist" .gpu/data/  # the glimpse tasks (train IDX files only)
mkdir -p .gpu/data/sroie_dev/images
cp "$DATA/sroie_dev/manifest.jsonl" .gpu/data/sroie_dev/
# Only the training receipts' images (the last 30 are held out locally; prepare_real_crops skips pages
# whose image is missing), gray JPEG at SROIE_Q: the pack must fit the device's 64 MiB with the tree.
"$PY" - "$DATA/sroie_dev/manifest.jsonl" .gpu/data/sroie_dev/images "${SROIE_Q:-70}" <<'PY'
import sys
from pathlib import Path

import cv2

from textlens.data.manifest import read_manifest

manifest, dst, quality = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
pages = read_manifest(manifest)
for page in pages[: len(pages) - 30]:
    image = cv2.imread(str(page.image), cv2.IMREAD_GRAYSCALE)  # receipts are black on white: gray loses nothing
    cv2.imwrite(str(dst / page.image.name), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
PY
tar czf .gpupack/gpu.tgz .gpu
du -sh .whl .gpupack/gpu.tgz .gpu/fonts .gpu/data/*
