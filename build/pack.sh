#!/usr/bin/env bash
# Packs every NuGet package of the repository into one folder (default out/packages/, git-ignored) and lists the sizes:
#   Microsoft.ML.Clip, Microsoft.ML.Clip.TorchSharp, Microsoft.ML.Clip.Datasets   libraries (+ .snupkg symbols)
#   Microsoft.ML.Clip.Cli (clip), Microsoft.ML.Clip.Cli.Training (clip-train)     .NET tools: a small pointer package plus
#                                                                                  one package per platform (<id>.<rid>)
# Fails when a package is over the NuGet gallery's 250 MB limit. VERSION=x.y.z-tag overrides the version set in
# Directory.Build.props. Usage: bash build/pack.sh [OUTPUT_FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/packages}
mkdir -p "$out"
version_args=()
[ -n "${VERSION:-}" ] && version_args=("-p:Version=$VERSION")
limit=$((250 * 1024 * 1024))

for project in Microsoft.ML.Clip Microsoft.ML.Clip.TorchSharp Microsoft.ML.Clip.Datasets Microsoft.ML.Clip.Cli Microsoft.ML.Clip.Cli.Training; do
  echo "[pack] $project"
  dotnet pack "src/$project/$project.csproj" -c Release -nologo -v quiet -o "$out" ${version_args[@]+"${version_args[@]}"}
  # A tool's per-RID builds and publish folders (libtorch: ~1 GB per platform) are only the packages' inputs.
  for rid_folder in "src/$project/bin/Release/net10.0"/*-*/ "src/$project/obj/Release/net10.0"/*-*/; do
    [ -d "$rid_folder" ] && rm -rf "$rid_folder"
  done
done

echo
status=0
printf '%-62s %10s\n' package MB
for package in "$out"/*.nupkg "$out"/*.snupkg; do
  [ -f "$package" ] || continue
  size=$(stat -c %s "$package")
  awk -v name="$(basename "$package")" -v size="$size" 'BEGIN { printf "%-62s %10.1f\n", name, size / 1048576 }'
  if [ "$size" -ge "$limit" ]; then echo "  over the NuGet gallery's 250 MB limit"; status=1; fi
done
exit $status
