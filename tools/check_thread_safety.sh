#!/usr/bin/env bash
# Proves that clang's thread-safety analysis actually checks weft's locks:
#
#   1. tests/runtime/thread_safety_negative.cc, which touches guarded state
#      without its weft::internal::Mutex, must FAIL to compile with
#      -Wthread-safety -Werror=thread-safety, and only with thread-safety
#      errors;
#   2. those errors must be exactly the ones its `expected-error` comments
#      name, on their lines (clang -verify): each rule is caught, and
#      nothing else made it fail;
#   3. its twin tests/runtime/thread_safety_positive.cc (locks held) must
#      compile cleanly.
#
# If 1 or 2 fails, the annotations in runtime/internal/mutex.h (or the
# flags) no longer catch mistakes, and --config=clang would pass code with
# data races. Run from anywhere; exits non-zero on failure. Needs clang++
# (Debian's clang package; tools/bazel installs it). CLANGXX overrides.
#
#   tools/check_thread_safety.sh
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd -P)"
cxx="${CLANGXX:-clang++}"
if ! command -v "$cxx" >/dev/null; then
  echo "check_thread_safety: $cxx not found; install it with: apt-get install -y clang" >&2
  exit 1
fi

# Abseil's headers are in /usr/include (libabsl-dev), on the default path.
flags=(-std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety -I"$root")
negative="$root/tests/runtime/thread_safety_negative.cc"
positive="$root/tests/runtime/thread_safety_positive.cc"
failed=0

fail() {
  echo "check_thread_safety: FAIL: $*" >&2
  failed=1
}

# 1. The negative file must not compile, and only for thread-safety reasons.
out=$("$cxx" "${flags[@]}" -fno-color-diagnostics "$negative" 2>&1)
rc=$?
errors=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (fatal )?error: ' <<<"$out" || true)
others=$(grep -v -e '-Wthread-safety' <<<"$errors" | grep . || true)
if ((rc == 0)); then
  fail "${negative#"$root"/} compiled, but it must not: unguarded accesses are no longer errors" \
    "(check runtime/internal/mutex.h's annotations and the flags: ${flags[*]})"
elif [[ -z "$errors" ]]; then
  fail "${negative#"$root"/} did not compile (exit $rc) but reported no error:"$'\n'"$out"
elif [[ -n "$others" ]]; then
  fail "${negative#"$root"/} fails for reasons other than thread safety:"$'\n'"$others"
else
  echo "check_thread_safety: ${negative#"$root"/} fails to compile, with thread-safety errors only:"
  sed 's/^/  /' <<<"$errors"
fi

# 2. Exactly the expected errors, each on its line.
if ! out=$("$cxx" "${flags[@]}" -fno-color-diagnostics -Xclang -verify "$negative" 2>&1); then
  fail "${negative#"$root"/}: clang's errors differ from its expected-error comments" \
    "(a rule is no longer caught, or something else fails):"$'\n'"$out"
fi

# 3. The positive twin must compile.
if ! out=$("$cxx" "${flags[@]}" -fno-color-diagnostics "$positive" 2>&1); then
  fail "${positive#"$root"/}, which holds its locks, does not compile:"$'\n'"$out"
elif [[ -n "$out" ]]; then
  fail "${positive#"$root"/} compiles but with diagnostics:"$'\n'"$out"
else
  echo "check_thread_safety: ${positive#"$root"/} compiles cleanly"
fi

if ((failed)); then
  exit 1
fi
echo "check_thread_safety: PASS"
