#!/usr/bin/env bash
# Prints a folder holding OpenBLAS's libblas.so.3 / liblapack.so.3 (OpenMP build) for the Python anchors' library path:
# the installed libopenblas0-openmp's, else the same package fetched with apt-get download and unpacked into
# data/bench/openblas (no system change: the machine's BLAS alternative, whatever it is, stays as it is).
# Debian's python3-torch and numpy link libblas.so.3; with the reference BLAS a GEMM runs at ~3 GFLOP/s, which makes
# any comparison with PyTorch meaningless (docs: design.md's known traps).
set -euo pipefail
cd "$(dirname "$0")/../.."
system=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -f "$system/libblas.so.3" ]; then echo "$system"; exit 0; fi
dest="${CLIP_DATA_DIR:-data}/bench/openblas"
if [ ! -f "$dest/lib/libblas.so.3" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -q libopenblas0-openmp >&2) || { echo "[bench] could not fetch libopenblas0-openmp" >&2; exit 1; }
  dpkg-deb -x "$tmp"/libopenblas0-openmp_*.deb "$tmp/x"
  mkdir -p "$dest/lib"
  cp -a "$tmp/x/usr/lib/x86_64-linux-gnu/openblas-openmp/." "$dest/lib/"
fi
echo "$(cd "$dest/lib" && pwd)"
