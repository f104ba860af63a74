#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian/Ubuntu machine, then restores and
# builds the solution. Idempotent: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
# Root steps run directly as root, else through sudo; without either, stop with a message naming the step.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "ERROR: '$*' needs root: rerun as root or install sudo"; exit 1
  fi
}

# TorchSharp 0.107's native library (libtorch 2.10) needs libstdc++ with GLIBCXX_3.4.32 (GCC 13+).
# Debian 12 ships GCC 12's (3.4.30): take libstdc++6 from Debian 13 (trixie). GCC 14's runtime
# needs glibc >= 2.38, so apt also moves libc6 and the few packages that must move with it
# (libgcc-s1, gcc-14-base, libc-bin, dpkg, base-files); the pin keeps every other package on
# bookworm, also for later upgrades.
ensure_libstdcxx() {
  local lib
  # awk reads to the end (no early exit): an early exit would SIGPIPE ldconfig, and under
  # pipefail that kills this script with status 141 once the cache outgrows a pipe buffer.
  lib=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found {print $NF; found=1}' || true)
  [ -z "$lib" ] && lib=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
  if [ -f "$lib" ] && grep -qa 'GLIBCXX_3\.4\.32' "$lib"; then
    log "libstdc++ already provides GLIBCXX_3.4.32"
    return
  fi
  if ! command -v apt-get >/dev/null; then
    log "WARNING: libstdc++ lacks GLIBCXX_3.4.32 and apt-get is missing; TorchSharp tests will fail"
    return
  fi
  . /etc/os-release
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    # The archive this machine already uses (a local mirror, a proxy, the public one): never a host of this script's own.
    local mirror
    if ! mirror=$(bash build/apt-mirror.sh /etc/apt bookworm); then
      log "ERROR: no apt source for bookworm found in /etc/apt; configure the Debian archive for apt first (its URI is reused for trixie)"
      exit 1
    fi
    log "installing libstdc++6 from Debian 13 (trixie) with an apt pin, from $mirror"
    # The pin first: a set-up stopped between the two writes must not leave trixie unpinned for the next upgrade.
    as_root tee /etc/apt/preferences.d/clip-trixie-libstdcxx >/dev/null <<'PIN'
# Only the C++ runtime (and the gcc runtime it needs) may come from trixie.
Package: *
Pin: release n=trixie
Pin-Priority: -10

Package: libstdc++6 libgcc-s1 gcc-14-base
Pin: release n=trixie
Pin-Priority: 500
PIN
    as_root tee /etc/apt/sources.list.d/clip-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie libstdc++6 libgcc-s1 gcc-14-base
  else
    log "installing a newer libstdc++6 from this distribution"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libstdc++6
  fi
  grep -qa 'GLIBCXX_3\.4\.32' "$lib" || { log "ERROR: libstdc++ still lacks GLIBCXX_3.4.32"; exit 1; }
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null; then
    log "ERROR: the .NET SDK 10 is required (https://dot.net); install it and rerun"
    exit 1
  fi
}

ensure_libstdcxx
ensure_dotnet
log "notebook runner: dotnet-repl in .tools/ (installed when missing)"
bash build/install-tools.sh
log "restoring and building (Release)"
dotnet build Microsoft.ML.Clip.sln -c Release -nologo -v quiet
