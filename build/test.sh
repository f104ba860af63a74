#!/usr/bin/env bash
# The test command: sets up a fresh machine (build/setup.sh), then runs every test project and closes with one line,
# "N passed, N failed", summed over the projects. Extra arguments go to `dotnet test` (e.g. --filter ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh
log=$(mktemp)
# Every temporary file of the run goes to one folder, removed at the end: ML.NET 5.0.1 copies each ONNX graph given to
# ApplyOnnxModel(Stream) into the temp folder and never deletes the copy, not even on Dispose (megabytes per fitted
# pipeline in this suite).
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/clip-test-run.XXXXXX")
trap 'rm -f "$log"; rm -rf "$run_tmp"' EXIT
export TMPDIR="$run_tmp"
# Each test process logs its tests' starts and ends here (test/Shared/RunningTestsLog.cs), read if the run fails.
running_log="$run_tmp/running-tests"
mkdir -p "$running_log"
export CLIP_TEST_RUNNING_LOG="$running_log"
set +e
# --blame-hang: a test stuck for 15 minutes is named and its host ended (CI would otherwise wait out its 90 minutes).
dotnet test Microsoft.ML.Clip.sln -c Release --no-build -nologo --blame-hang-timeout 15m --blame-hang-dump-type none \
  --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^ +Passed: +[0-9]+ *$/ { s += $2 } END { print s + 0 }' "$log")
failed=$(awk '/^ +Failed: +[0-9]+ *$/ { s += $2 } END { print s + 0 }' "$log")
data_dir=${CLIP_DATA_DIR:-data}
[ -f "$data_dir/fetched-full" ] || echo "note: the real-data tests were not built (no $data_dir/fetched-full; build/fetch-data.sh fetches the data)"
if [ "$status" -ne 0 ]; then
  # CI keeps only the end of the output: repeat what says why the run failed (an aborted test host counts no failure).
  echo "dotnet test exited with $status; what it said of aborted runs and failures:"
  # A crashed host's message and the top of its stack (the frames name the test), then the other abort and failure lines.
  { grep -E -A 10 "Test host process crashed" "$log" | grep -v -E "^--$|^$|^\[xUnit\.net|^Test run for|^A total of|^Data collector|^ +Passed |System\.Runtime\.CompilerServices|Xunit\.Sdk" | head -30
    grep -E -i "aborted|exited with error|test running when|^ +Failed [A-Za-z]|error MSB|No test is available" "$log" | grep -v "^ *Passed "
  } | awk '!seen[$0]++' | head -60 || true
  # Tests that started and never ended (test/Shared/RunningTestsLog.cs): in a host that died, the one it died in.
  for running in "$running_log"/*.log; do
    [ -f "$running" ] || continue
    awk -v host="$(basename "$running" .log)" '{ n[$2] += ($1 == "+") ? 1 : -1 } END { for (t in n) if (n[t] > 0) print "still running when " host " ended: " t }' "$running"
  done || true
  # A host killed from outside (the out-of-memory killer) leaves no message of its own.
  free -m | awk '/^Mem:/ { print "memory now: " $3 " MiB used, " $7 " MiB available of " $2 }' || true
fi
echo "$passed passed, $failed failed"
exit "$status"
