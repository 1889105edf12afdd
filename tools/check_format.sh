#!/usr/bin/env bash
# Checks that every git-tracked C++ file (*.h, *.cc) is formatted as
# .clang-format says, with clang-format-14. Skipped: tests/*/golden/
# (generated code, compared byte for byte with capnpc-weft's output) and
# third_party/. Prints the files that are not formatted and the command that
# formats them; exits non-zero if there are any. Changes nothing.
#
#   tools/check_format.sh
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
clang_format="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$clang_format" >/dev/null; then
  echo "check_format: $clang_format not found; install it with: apt-get install -y clang-format-14" >&2
  exit 1
fi

files=()
while IFS= read -r -d '' f; do
  case "$f" in
    tests/*/golden/* | third_party/*) continue ;;
  esac
  # Tracked but deleted in the work tree: nothing to check.
  [[ -f "$f" ]] && files+=("$f")
done < <(git ls-files -z -- '*.h' '*.cc')

if ((${#files[@]} == 0)); then
  echo "check_format: no files to check (not a git checkout?)" >&2
  exit 1
fi

unformatted=()
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
    unformatted+=("$f")
  fi
done

if ((${#unformatted[@]})); then
  echo "check_format: ${#unformatted[@]} of ${#files[@]} files are not formatted as .clang-format says:"
  printf '  %s\n' "${unformatted[@]}"
  echo "Fix with:"
  echo "  $clang_format -i$(printf ' %q' "${unformatted[@]}")"
  echo "(\`$clang_format --dry-run <file>\` shows what would change.)"
  exit 1
fi
echo "check_format: PASS (${#files[@]} files)"
