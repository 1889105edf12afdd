#!/usr/bin/env bash
# Runs the remote demo as a user would and checks that calls ran on both
# workers: the caller's thread and the RPC server's process workers.
set -euo pipefail
out=$("$1")
echo "$out"
grep -q '^square(1) = 1, ran on ' <<<"$out" || { echo "FAIL: no square(1) line"; exit 1; }
grep -q 'ran on a thread worker of the caller' <<<"$out" || { echo "FAIL: nothing ran locally"; exit 1; }
grep -q 'ran on a process worker behind the RPC server' <<<"$out" ||
  { echo "FAIL: nothing ran behind the RPC server"; exit 1; }
