#!/usr/bin/env bash
# What ClipImageDecodeOptions.JpegDctScaling (decode large JPEGs at M/8 scale, then the exact resize) costs and gains:
# per JPEG the scale chosen, the pixel difference from the exact path and the cosine of the two embeddings; then exact
# vs scaled preprocessing throughput over ROUNDS alternating rounds.
# Usage: build/bench-jpeg-dct.sh [model=FOLDER|preset (random weights), default base] [jpegs=DIR|photos|synthetic] [rounds=5]
#   photos: the 16 photographs of Debian's mate-backgrounds 1.26.0-1 (nature/, Elephants at three sizes,
#           GreenTraditional; 1280x1024 to 5640x3172), fetched once with apt-get download into data/downloads
#           (checksum in build/bench/checksums.txt) and extracted into data/bench/photos
set -euo pipefail
cd "$(dirname "$0")/.."
images=${2:-photos}
if [ "$images" = photos ]; then
  export CLIP_DATA_CHECKSUMS="$PWD/build/bench/checksums.txt"
  . build/data/lib.sh
  deb=$(deb_archive mate-backgrounds 1.26.0-1)
  images="$DATA_DIR/bench/photos"
  if [ ! -f "$images/.done" ]; then
    mkdir -p "$images"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$images" --strip-components=6 --wildcards \
      './usr/share/backgrounds/mate/nature/*.jpg' './usr/share/backgrounds/mate/abstract/Elephants*.jpg' './usr/share/backgrounds/mate/desktop/GreenTraditional.jpg'
    touch "$images/.done"
  fi
fi
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exec dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll jpeg-dct-scaling "${1:-base}" "$images" "${3:-5}"
