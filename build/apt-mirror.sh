#!/usr/bin/env bash
# Prints the URI of the Debian archive this machine's apt already uses for suite $2 (e.g. bookworm), read from the apt
# sources under $1 (default /etc/apt): deb822 files (sources.list.d/*.sources: URIs/Suites stanzas) and one-line entries
# (sources.list, sources.list.d/*.list: "deb [options] URI SUITE COMPONENTS..."). The first URI that serves the suite with
# its `main` component wins (a third-party repository that reuses the suite name, e.g. "bookworm stable", does not count);
# security archives (suite SUITE-security) do not count. Prints nothing and exits 1 when there is none, so that
# build/setup.sh never falls back to a host of its own: it writes its extra source with the machine's mirror or not at all.
set -euo pipefail
root=${1:-/etc/apt}
suite=$2

deb822() {
  # Stanzas are separated by blank lines; a stanza counts when it is enabled, has Types: deb, lists the suite and main.
  awk -v suite="$suite" '
    function flush() {
      if (uris != "" && types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && (" " components " ") ~ / main /) { split(uris, u, " "); print u[1]; found = 1; exit }
      uris = ""; types = ""; suites = ""; enabled = ""; components = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, ""); value = $0 }
    key == "uris" { uris = value } key == "types" { types = value } key == "suites" { suites = value } key == "enabled" { enabled = tolower(value) } key == "components" { components = value }
    END { if (!found) flush() }
  ' "$1"
}

one_line() {
  # deb [arch=amd64 signed-by=...] URI SUITE COMPONENTS...
  awk -v suite="$suite" '
    /^[ \t]*deb[ \t]/ {
      line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
      if (line ~ /^\[/) { sub(/^\[[^]]*\][ \t]*/, "", line) }
      n = split(line, f, /[ \t]+/)
      if (f[2] != suite) next
      for (i = 3; i <= n; i++) if (f[i] == "main") { print f[1]; exit }
    }
  ' "$1"
}

shopt -s nullglob
for file in "$root"/sources.list.d/*.sources; do
  uri=$(deb822 "$file")
  if [ -n "$uri" ]; then echo "${uri%/}"; exit 0; fi
done
for file in "$root"/sources.list "$root"/sources.list.d/*.list; do
  [ -f "$file" ] || continue
  uri=$(one_line "$file")
  if [ -n "$uri" ]; then echo "${uri%/}"; exit 0; fi
done
exit 1
