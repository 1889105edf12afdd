#!/usr/bin/env bash
# Compares files capnpc-weft generated with their checked-in goldens, byte for
# byte. Arguments: pairs of (generated, golden) runfiles paths.
set -euo pipefail

status=0
while (($# >= 2)); do
  generated=$1 golden=$2
  shift 2
  if ! cmp -s "$generated" "$golden"; then
    echo "MISMATCH: $golden differs from what capnpc-weft generates now:" >&2
    diff -u --label "$golden (golden)" --label "$generated (generated)" \
      "$golden" "$generated" >&2 || true
    status=1
  fi
done

if ((status != 0)); then
  echo >&2
  echo "If the change is intended, update the goldens and review the diff:" >&2
  echo "  tests/codegen/update_goldens.sh && git diff tests/*/golden" >&2
fi
exit "$status"
