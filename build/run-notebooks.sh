#!/usr/bin/env bash
# Runs every notebook in docs/notebooks headless with dotnet-repl (installed into .tools/ by build/install-tools.sh)
# and fails when a cell fails. The notebooks load the library from the Release builds of the clip tool and of its training
# add-on clip-train (training-a-clip.ipynb, which needs TorchSharp), so build those first.
# The test suite does the same per notebook (test/Microsoft.ML.Clip.Cli.Tests/NotebookTests.cs).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tools="$repo/.tools"
bash "$repo/build/install-tools.sh"
dotnet build "$repo/src/Microsoft.ML.Clip.Cli/Microsoft.ML.Clip.Cli.csproj" -c Release -nologo -v quiet
dotnet build "$repo/src/Microsoft.ML.Clip.Cli.Training/Microsoft.ML.Clip.Cli.Training.csproj" -c Release -nologo -v quiet
out="$(mktemp -d)"
status=0
cd "$repo/docs/notebooks"   # the notebooks' #r paths are relative to this folder
for nb in *.ipynb; do
  echo "== $nb"
  if "$tools/dotnet-repl" --run "$nb" --exit-after-run --output-path "$out/$nb"; then
    echo "ok: executed copy in $out/$nb"
  else
    echo "FAILED: $nb (executed copy with the error in $out/$nb)" >&2
    status=1
  fi
done
exit $status
