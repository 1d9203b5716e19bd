#!/usr/bin/env sh
# After every shard has finished: join each year's shard archives into one archive.
#
#   deploy/merge.sh SHARDS_DIR OUT_DIR N [suffix]
#
# reads SHARDS_DIR/{year}{suffix}-{i}of{N}.{mbtiles,pmtiles} and writes
# OUT_DIR/{year}{suffix}.{ext}; fails if a year's set of shards is incomplete.
set -eu
shards="$1"; out="$2"; n="$3"; suffix="${4:-}"
bin="${STEPPE_ATLAS:-steppe-atlas}"
mkdir -p "$out"
found=0
for first in "$shards"/*"$suffix"-0of"$n".mbtiles "$shards"/*"$suffix"-0of"$n".pmtiles; do
  [ -e "$first" ] || continue
  found=1
  ext="${first##*.}"
  stem="$(basename "$first" ".$ext")"
  year="${stem%"$suffix"-0of"$n"}"
  set --
  i=0
  while [ "$i" -lt "$n" ]; do
    set -- "$@" "$shards/$year$suffix-${i}of$n.$ext"
    i=$((i + 1))
  done
  "$bin" merge --out "$out/$year$suffix.$ext" "$@"
done
if [ "$found" = 0 ]; then
  echo "merge.sh: no shard archives (*-0of$n.mbtiles or .pmtiles) in $shards" >&2
  exit 1
fi
