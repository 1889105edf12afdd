#!/usr/bin/env bash
# Regenerates tests/codegen/golden/* from the current capnpc-weft. Review the
# result with `git diff tests/codegen/golden` before committing it.
set -euo pipefail
cd "$(dirname "$0")/../.."

goldens=(shapes.weft.h)

targets=()
for g in "${goldens[@]}"; do targets+=("//tests/codegen:$g"); done
tools/bazel build "${targets[@]}"

bin=$(tools/bazel info bazel-bin 2>/dev/null)
for g in "${goldens[@]}"; do
  install -m 0644 "$bin/tests/codegen/$g" "tests/codegen/golden/$g"
  echo "updated tests/codegen/golden/$g"
done
