#!/usr/bin/env bash
# The main job: pre-train a tiny CLIP on three emoji styles + Open Clip Art + Tux Paint stamps, then compare
# zero-shot vs linear probes (CLIP, ResNet-18) vs few-shot on the held-out emoji style (OpenMoji, by subgroup
# and by name), Fashion-MNIST and MNIST. Prints the markdown table; report.md and plots go to out/main/report/.
# Usage: build/run.sh [--quick]    (--quick: small slices and a few steps, a couple of minutes; for CI)
# Knobs (environment): CLIP_OUT (default out/main, or out/quick), CLIP_DATA_DIR (data folder), EPOCHS, BATCH.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
[ "${1:-}" = "--quick" ] && quick=1
start=$(date +%s)
stamp() { printf '[run] %s (%ds)\n' "$*" $(( $(date +%s) - start )); }

bash build/setup.sh
stamp "set up"
if [ -n "$quick" ]; then bash build/fetch-data.sh --quick; else bash build/fetch-data.sh; fi
stamp "data fetched"

out=${CLIP_OUT:-out/$([ -n "$quick" ] && echo quick || echo main)}
rm -rf "$out/data/eval"   # sets of an earlier run with other sizes must not linger
clip() { dotnet src/Microsoft.ML.Clip.Cli/bin/Release/net10.0/clip.dll "$@"; }
clip_data() { dotnet src/Microsoft.ML.Clip.Datasets.Tool/bin/Release/net10.0/clip-data.dll "$@"; }

# 1. Plain files: train/pairs.tsv, eval/<set>/{train,test}.tsv + templates.txt (separate process: SkiaSharp 4.x).
if [ -n "$quick" ]; then
  # The quick fetch has no Open Clip Art / Tux Paint / Noto / Twemoji: train on what it has (Fluent 3D).
  clip_data prepare --out "$out/data" --quick
else
  clip_data prepare --out "$out/data"
fi
stamp "data prepared"

# 2. Pre-train the tiny CLIP (64 px ViT, 4+4 blocks); clip train exports image.onnx/text.onnx/clip_model.json.
if [ -n "$quick" ]; then epochs=${EPOCHS:-1}; batch=${BATCH:-32}; else epochs=${EPOCHS:-1}; batch=${BATCH:-64}; fi
clip train --data "$out/data/train/pairs.tsv" --out "$out/model" --config tiny \
  --epochs "$epochs" --batch "$batch" --lr 1e-3 --warmup 20 --device cpu | awk 'NR % 10 == 1 || /wrote/ { print; fflush() }'
stamp "trained"

# 3. The comparison through the ONNX model (inference components), one process for all sets.
sets=()
for s in openmoji-subgroups openmoji-names fashion-mnist mnist; do
  if [ -d "$out/data/eval/$s" ]; then sets+=(--data "$out/data/eval/$s"); fi
done
clip compare --model "$out/model" "${sets[@]}" --out "$out/report" --shots 1,2,4,8,16 --seeds 3 --l2-steps 7
stamp "compared; report: $out/report/report.md"
