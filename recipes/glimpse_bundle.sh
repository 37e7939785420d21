#!/usr/bin/env bash
# Bundle a glimpse training run's export as textlens/models/weights/NAME/ (config.json + fp16 safetensors).
# Usage: recipes/glimpse_bundle.sh RUN_DIR NAME     e.g. recipes/glimpse_bundle.sh runs/ram_mnist ram_mnist
# MODEL.md is written by hand from RUN_DIR/summary.json (measured numbers only).
set -euo pipefail
RUN=$1
NAME=$2
DEST=textlens/models/weights/$NAME
[ -f "$RUN/export/config.json" ] && [ -f "$RUN/export/model.safetensors" ] || { echo "no export in $RUN" >&2; exit 2; }
mkdir -p "$DEST"
cp "$RUN/export/model.safetensors" "$DEST/model.safetensors"
chmod 644 "$DEST/model.safetensors"
python - "$RUN/export/config.json" "$DEST/config.json" "$NAME" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["name"] = sys.argv[3]
open(sys.argv[2], "w").write(json.dumps(config, indent=2) + "\n")
PY
size=$(stat -c %s "$DEST/model.safetensors")
[ "$size" -le 26214400 ] || { echo "$DEST/model.safetensors is $size bytes (> 25 MB)" >&2; exit 1; }
echo "bundled $RUN -> $DEST ($size bytes)"
