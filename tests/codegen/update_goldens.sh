#!/usr/bin/env bash
# Regenerates tests/*/golden/* from the current capnpc-weft. Review the
# result with `git diff tests/*/golden` before committing it. Arguments are
# passed to `bazel build` (e.g. --disk_cache=DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

# package/header pairs: tests/<package>/golden/<header>.
goldens=(
  codegen/shapes.weft.h codegen/shapes.weft-rpc.h
  schemas/torture.weft.h schemas/torture.weft-rpc.h
  schemas/plain.weft.h schemas/plain.weft-rpc.h
)

targets=()
for g in "${goldens[@]}"; do targets+=("//tests/${g%/*}:${g##*/}"); done
tools/bazel build "$@" "${targets[@]}"

bin=$(tools/bazel info bazel-bin 2>/dev/null)
for g in "${goldens[@]}"; do
  mkdir -p "tests/${g%/*}/golden"
  install -m 0644 "$bin/tests/$g" "tests/${g%/*}/golden/${g##*/}"
  echo "updated tests/${g%/*}/golden/${g##*/}"
done
