#!/usr/bin/env bash
# Offline self-test of the checksum logic in lib.sh: a matching hash passes, a wrong one fails with a
# message naming the file and both hashes, and a cached archive with a wrong recorded hash is refused.
# Also runnable against the real fetch: CLIP_DATA_CHECKSUMS=bad.txt build/fetch-data.sh --quick must fail.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export CLIP_DATA_DIR="$tmp/data"
. "$(dirname "$0")/lib.sh"
fail() { echo "selftest FAILED: $*" >&2; exit 1; }

printf 'hello\n' > "$tmp/a.tgz"
good=$(sha256sum "$tmp/a.tgz" | awk '{print $1}')
bad=0000000000000000000000000000000000000000000000000000000000000000
verify_sha256 "$tmp/a.tgz" "$good" || fail "a matching hash was refused"
if verify_sha256 "$tmp/a.tgz" "$bad" 2>"$tmp/err"; then fail "a wrong hash was accepted"; fi
grep -q "checksum mismatch for $tmp/a.tgz" "$tmp/err" || fail "message does not name the file"
grep -q "expected SHA-256 $bad" "$tmp/err" && grep -q "actual   SHA-256 $good" "$tmp/err" \
  || fail "message does not give both hashes"

# The download path: a 'fetch' that writes the file, checked against a wrong recorded hash.
printf '%s  a.tgz\n' "$bad" > "$tmp/checksums.txt"
CHECKSUMS="$tmp/checksums.txt"
if ( cached_or_fetch a.tgz cp "$tmp/a.tgz" . ) >/dev/null 2>"$tmp/err"; then fail "a mismatching download was accepted"; fi
grep -q "checksum mismatch for a.tgz" "$tmp/err" || fail "download mismatch message missing: $(cat "$tmp/err")"
[ ! -e "$DOWNLOADS/a.tgz" ] || fail "a mismatching download was kept in the cache"
printf '%s  a.tgz\n' "$good" > "$tmp/checksums.txt"
path=$(cached_or_fetch a.tgz cp "$tmp/a.tgz" . 2>/dev/null) || fail "a matching download was refused"
[ "$path" = "$DOWNLOADS/a.tgz" ] || fail "verified archive not cached at $DOWNLOADS/a.tgz"
( cached_or_fetch a.tgz false ) >/dev/null 2>&1 || fail "a verified cached archive was fetched again"
if ( expected_sha256 missing.tgz ) 2>"$tmp/err"; then fail "an unlisted archive was accepted"; fi
grep -q "no SHA-256 recorded for 'missing.tgz'" "$tmp/err" || fail "unlisted archive message missing"
echo "data selftest: ok"
