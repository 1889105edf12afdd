#!/usr/bin/env bash
# capnpc-weft refuses a generic interface with a clear error naming it, a
# non-zero exit status, and no output file.
# Arguments: the plugin, then the schema (runfiles paths).
set -euo pipefail

plugin=$(realpath "$1")
schema=$2
out=$(mktemp -d "${TEST_TMPDIR:-/tmp}/generic.XXXXXX")

if capnp compile -I/usr/include -I. -o"$plugin:$out" "$schema" 2>"$out/stderr"; then
  echo "FAIL: capnpc-weft accepted the generic interface in $schema" >&2
  exit 1
fi
cat "$out/stderr"
expected="capnpc-weft: error: interface $schema:Box is generic (has type parameters); weft does not support generic interfaces"
if ! grep -qF "$expected" "$out/stderr"; then
  echo "FAIL: expected on stderr: $expected" >&2
  exit 1
fi
if [[ -n "$(find "$out" -name '*.weft.h')" ]]; then
  echo "FAIL: an output file was written despite the error" >&2
  exit 1
fi
echo PASS
