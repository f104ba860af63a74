#!/usr/bin/env bash
# The main job. Until the comparison job lands, a self-check of the `clip` tool on the fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh
clip() { dotnet src/Microsoft.ML.Clip.Cli/bin/Release/net10.0/clip.dll "$@"; }
clip self-check
clip --help
