#!/usr/bin/env bash
# Usage: front_door_includes.sh TOOLS_DIR
# Every quoted include in tools/ names a tools/ header; tools/replay/ may also name store/ and
# projections/ headers. No file under tools/ includes an actors/, events/ or schedule/ header,
# in quotes or in angle brackets. Prints each offending line and fails on any.
set -euo pipefail
dir=${1:?usage: front_door_includes.sh TOOLS_DIR}
mapfile -t files < <(find "$dir" -name '*.cpp' -o -name '*.hpp' | sort)
if (( ${#files[@]} < 10 )); then
  echo "only ${#files[@]} source files under $dir: wrong directory?" >&2
  exit 1
fi
bad=0
for f in "${files[@]}"; do
  rel=${f#"$dir"/}
  while IFS= read -r line; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]*)[">].*/\1/' <<<"$line")
    case $inc in
      actors/* | events/* | schedule/*)
        echo "$rel: $line (internal header)"; bad=1; continue ;;
    esac
    [[ $line =~ \" ]] || continue
    case $inc in
      tools/*) ;;
      store/* | projections/*)
        [[ $rel == replay/* ]] || { echo "$rel: $line (store/ and projections/ are the replay tool's only)"; bad=1; } ;;
      *) echo "$rel: $line (not a tools/ header)"; bad=1 ;;
    esac
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done
if (( bad )); then
  echo "tools/ includes only <almanac/...> and its own tools/ headers (see docs/TOOLS.md)" >&2
  exit 1
fi
echo "${#files[@]} files checked"
