#!/usr/bin/env bash
# Scene-capable db_fast: fine-tuned from the bundled document detector on synthetic scene photos (scene_photo
# pages: words on real wallpapers; make scene-deps), the synthetic page mixture (documents, receipts, cards,
# procedural scenes), FUNSD training pages 0-128 and the training third of ic03_scene
# (recipes/prepare_scene_crops.py), so forms and receipts keep their scores. Validated on the ic03_scene dev part
# (171 photos; never trained on); FUNSD 129-148 and SROIE 120-149 stay held out for recipes/eval_detector.sh.
# The learning-rate decay is fitted to MINUTES (--fit-schedule).
#
# usage: recipes/det_scene.sh OUT MINUTES [STEPS] [extra textlens train det options]
#   e.g. recipes/det_scene.sh runs/db_scene 240 12000
#   DATA=../shared/data, SCENE=runs/scene-crops; THREADS (default 2), BATCH (default 8).
set -euo pipefail
out=$1 minutes=$2 steps=${3:-12000}; shift $(( $# < 3 ? $# : 3 ))
DATA=${DATA:-../shared/data}
SCENE=${SCENE:-runs/scene-crops}
FUNSD="$DATA/funsd_train/manifest.jsonl"
[ -f "$SCENE/ic03_scene_train/manifest.jsonl" ] || python recipes/prepare_scene_crops.py --data "$DATA" --out "$SCENE"
export OMP_NUM_THREADS=${THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train det --arch db_fast --finetune db_fast \
  --data synth-pages:kind=scene_photo,crops=2,weight=0.4 \
  --data synth-pages:kind=mixed,crops=2,weight=0.25 \
  --data "manifest:$FUNSD,start=0,stop=129,weight=0.2" \
  --data "manifest:$SCENE/ic03_scene_train/manifest.jsonl,weight=0.15" \
  --val "manifest:$SCENE/ic03_scene_dev/manifest.jsonl" \
  --steps "$steps" --batch "${BATCH:-8}" --size 512 --long-side 1024 --lr 1e-3 \
  --workers 1 --val-every 500 --max-minutes "$minutes" --fit-schedule \
  --device cpu --precision auto --no-progress --out "$out" --name db_fast "$@"
