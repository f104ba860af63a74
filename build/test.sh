#!/usr/bin/env bash
# The test command: sets up a fresh machine (build/setup.sh), then runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh
dotnet test Microsoft.ML.Clip.sln -c Release --no-build -nologo \
  --logger "console;verbosity=normal" "$@"
