#!/usr/bin/env bash
# Runs the quickstart as a user would, on thread and on process workers, and
# checks the lines it must print.
set -euo pipefail
bin="$1"
for mode in "" "--process"; do
  out=$("$bin" $mode)
  echo "$out"
  grep -qx 'square(7) = 49' <<<"$out" || { echo "FAIL ($mode): no 'square(7) = 49'"; exit 1; }
  grep -qx 'hypot(3, 4) = 5' <<<"$out" || { echo "FAIL ($mode): no 'hypot(3, 4) = 5'"; exit 1; }
  grep -q '^pipelined 10000 calls' <<<"$out" || { echo "FAIL ($mode): no pipelined line"; exit 1; }
done
