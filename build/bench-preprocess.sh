#!/usr/bin/env bash
# Preprocessing throughput, JPEG bytes in memory -> normalised tensor: ours vs Pillow 9.4 + torchvision (OpenAI's
# _transform) on the same files, on THREADS threads (Python: as many one-thread worker processes), alternating over
# ROUNDS rounds (>= 5): medians and ranges of images/s, of the per-round ratio, and CPU ms per image.
# Needs /usr/bin/python3 with python3-pil, python3-torch, python3-torchvision (build/bench-table.sh installs them).
# Usage: build/bench-preprocess.sh [threads=1] [rounds=7] [seconds=3] [images=DIR|count=32] [resolution=224]
#   default images: 32 synthetic photo-like 640x480 JPEGs (q90, 4:2:0) written to the temp folder
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
exec dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll preprocess-vs-pillow "$@"
