#!/usr/bin/env bash
# The whole performance table of issue 14 in one run, re-runnable from a fresh clone: GEMM roofline (ONNX Runtime MatMul
# and numpy + OpenBLAS), text tower texts/s at 77 tokens (and, once it lands, at prompt length), zero-shot weights for
# 80 templates x N classes, image tower images/s at batch 8 and 32 for our graph vs a torch.onnx export of the same
# architecture (same ONNX Runtime), int8 (once it lands), preprocessing per thread and on all cores vs Pillow +
# torchvision. Every comparison alternates its two sides over ROUNDS (>= 5) rounds and prints medians and ranges; the
# table comes last (markdown). Rows: gemm, text77, text-prompt, zeroshot, image8, image32, image-int8, preprocess1,
# preprocessN (test/Microsoft.ML.Clip.Benchmarks/BenchTable.cs: a row is one function).
#
# The Python anchors need Debian's python3-torch, python3-torchvision, python3-pil and python3-numpy: installed here
# when missing (root or sudo; without them the anchor columns say n/a). For a fair BLAS, OpenBLAS (libopenblas0-openmp,
# the installed one or the package unpacked into data/bench/openblas by build/bench/openblas.sh) is put first on the
# library path of the Python processes only, and OPENBLAS_CORETYPE=SKYLAKEX is set for them on AVX-512 CPUs (OpenBLAS
# 0.3.21 does not recognise them); the system's BLAS alternative is not touched and the tests never see any of it.
# The random ViT-B/32 model and the torch.onnx export are cached in data/bench (CLIP_BENCH_CACHE), ~1 GB.
#
# Usage: build/bench-table.sh [--quick] [--rounds N] [--seconds S] [--rows a,b] [--images DIR] [--preset base]
#   --quick: fewer images and classes, 1.5 s passes (checks the script; figures are rougher)
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in python3-torch python3-torchvision python3-pil python3-numpy; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
  echo "[bench] installing the Python anchors' packages: ${need[*]}"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    || echo "[bench] could not install ${need[*]}: the anchor columns will say n/a" >&2
fi
CLIP_BENCH_OPENBLAS_DIR=$(bash build/bench/openblas.sh) || CLIP_BENCH_OPENBLAS_DIR=""
export CLIP_BENCH_OPENBLAS_DIR
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
echo "[bench] $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are rough; ratios of alternating rounds hold up better)"
exec dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll bench-table "$@"
