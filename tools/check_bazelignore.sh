#!/usr/bin/env bash
# Checks that a `bazel-*` convenience symlink into another output base (a
# clone named weft leaves bazel-weft; another user's build leaves bazel-bin,
# bazel-out, bazel-testlogs pointing into their output base) cannot break
# `//...`: Bazel follows such a symlink as a directory of packages, finds
# the other tree's BUILD files under //bazel-weft/... and fails on them.
# Bazel 4's .bazelignore takes literal paths (no globs, no comments), so it
# must name each of them.
#
#   tools/check_bazelignore.sh
#
# 1. .bazelignore lists every name below.
# 2. With a bazel-weft symlink to a tree whose BUILD file cannot load (made
#    here, removed on exit; skipped if the checkout has a bazel-weft of its
#    own), `tools/bazel query //...` succeeds and has no //bazel-* label.
set -euo pipefail
cd "$(dirname "$0")/.."

names=(bazel-bin bazel-genfiles bazel-out bazel-testlogs bazel-weft)
status=0
for n in "${names[@]}"; do
  if ! grep -qxF "$n" .bazelignore 2>/dev/null; then
    echo "check_bazelignore: .bazelignore does not list $n"
    status=1
  fi
done

if [[ -e bazel-weft || -L bazel-weft ]]; then
  echo "check_bazelignore: bazel-weft exists here; not replacing it for the query check"
  exit "$status"
fi
foreign=$(mktemp -d)
trap 'rm -f bazel-weft; rm -rf "$foreign"' EXIT
mkdir -p "$foreign/pkg"
echo 'cc_library(name = "x", deps = ["//no/such:package"])' >"$foreign/pkg/BUILD"
ln -s "$foreign" bazel-weft
if ! labels=$(tools/bazel query //... 2>"$foreign/query.log"); then
  echo "check_bazelignore: tools/bazel query //... fails with a foreign bazel-weft:"
  cat "$foreign/query.log"
  status=1
elif grep '^//bazel-' <<<"$labels"; then
  echo "check_bazelignore: //... has the packages above under a bazel-* symlink"
  status=1
fi
exit "$status"
