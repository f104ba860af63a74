#!/usr/bin/env bash
# Installs the .NET tools the repository's scripts and tests use into the git-ignored .tools/ folder:
# dotnet-repl, which runs the notebooks of docs/notebooks headless. Idempotent (nothing to do when the pinned
# version is there) and safe to run concurrently (a lock file inside .tools/). The version is pinned here only.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tools="$repo/.tools"
repl_version=0.3.259

installed() { [ -x "$tools/dotnet-repl" ] && [ -d "$tools/.store/dotnet-repl/$repl_version" ]; }

installed && exit 0
mkdir -p "$tools"
exec 9>"$tools/.install.lock"
command -v flock >/dev/null && flock 9
installed && exit 0   # another process installed it while we waited
if [ -e "$tools/dotnet-repl" ]; then
  # Another version: replace it.
  dotnet tool uninstall --tool-path "$tools" dotnet-repl >/dev/null
fi
echo "[tools] installing dotnet-repl $repl_version into .tools/"
dotnet tool install --tool-path "$tools" dotnet-repl --version "$repl_version" >/dev/null
installed || { echo "[tools] ERROR: dotnet-repl $repl_version is not in $tools after installing" >&2; exit 1; }
