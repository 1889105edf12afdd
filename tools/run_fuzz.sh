#!/usr/bin/env bash
# Builds the fuzz targets of tests/fuzz/ with --config=fuzz (clang 14,
# libFuzzer, ASan, UBSan) and runs each in turn for SECONDS (default 30),
# on a copy of its seed corpus in a temporary directory. Prints one line per
# target (execs, exec/s, coverage, corpus size) and fails if any target
# found a crash, a leak, a timeout or ran out of memory; the failing
# target's log and reproducer are kept and their paths printed.
#
#   tools/run_fuzz.sh            # 30 s per target
#   tools/run_fuzz.sh 600        # 10 min per target
#
# Environment (all optional):
#   FUZZ_TARGETS  the targets to run, e.g. "segments_fuzz region_fuzz" (default: all)
#   FUZZ_ARGS     more libFuzzer flags, e.g. "-runs=10000000" (stops at whichever comes first)
#   BAZEL_ARGS    more Bazel flags for the build, e.g. "--jobs=2"
#   FUZZ_KEEP     a directory to keep every target's log and grown corpus in
#
# A reproducer runs again with: <target binary> <crash file> (the binary's
# path is printed with the failure); without --config=fuzz the same target
# replays files too (bazel-bin/tests/fuzz/<target> <crash file>).
set -uo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS]   (SECONDS > 0, default 30)" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$root" || exit 1

all_targets=(segments_fuzz response_fuzz control_fuzz region_fuzz request_fuzz)
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"
read -r -a bazel_args <<<"${BAZEL_ARGS:-}"
read -r -a fuzz_args <<<"${FUZZ_ARGS:-}"

labels=()
for t in "${targets[@]}"; do labels+=("//tests/fuzz:$t"); done
if ! tools/bazel build --config=fuzz "${bazel_args[@]}" "${labels[@]}"; then
  echo "run_fuzz: FAIL: the fuzz targets do not build with --config=fuzz" >&2
  exit 1
fi
bin_dir="$(tools/bazel info --config=fuzz "${bazel_args[@]}" bazel-bin 2>/dev/null)" || exit 1

work="$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz.XXXXXX")"
keep_work=0
cleanup() { ((keep_work)) || rm -rf "$work"; }
trap cleanup EXIT

# The binaries are copied: a later build in this output base may replace them.
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus"
  cp "$bin_dir/tests/fuzz/$t" "$work/$t/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/corpus/" 2>/dev/null || true
done

# A value from libFuzzer's log: the last `key: value` of a status line.
last_field() { grep -oE "$1: *[0-9]+" "$2" | tail -1 | grep -oE '[0-9]+$' || echo "?"; }
final_stat() { grep -oE "^stat::$1: *[0-9]+" "$2" | grep -oE '[0-9]+$' || echo "?"; }

summary=()
failed=0
for t in "${targets[@]}"; do
  dir="$work/$t"
  echo "=== $t (${seconds}s)"
  (
    cd "$dir" &&
      ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
        "./$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$dir/" "${fuzz_args[@]}" corpus
  ) >"$dir/log" 2>&1
  rc=$?
  artifacts=("$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*)
  found=()
  for a in "${artifacts[@]}"; do
    [[ -e "$a" && "$a" != *slow-unit-* ]] && found+=("$a")
  done
  execs="$(final_stat number_of_executed_units "$dir/log")"
  rate="$(final_stat average_exec_per_sec "$dir/log")"
  cov="$(last_field cov "$dir/log")"
  ft="$(last_field ft "$dir/log")"
  files="$(find "$dir/corpus" -type f | wc -l)"
  if ((rc == 0)) && ((${#found[@]} == 0)); then
    verdict="PASS"
  else
    verdict="FAIL"
    failed=1
    keep_work=1
    tail -n 60 "$dir/log"
    echo "run_fuzz: $t FAILED (exit $rc); log: $dir/log"
    for a in "${found[@]}"; do echo "run_fuzz: reproducer: $a  (run: $dir/$t $a)"; done
  fi
  line="$(printf '%-14s %s  execs=%s exec/s=%s cov=%s ft=%s corpus=%s files' \
    "$t" "$verdict" "$execs" "$rate" "$cov" "$ft" "$files")"
  echo "$line"
  summary+=("$line")
  if [[ -n "${FUZZ_KEEP:-}" ]]; then
    mkdir -p "$FUZZ_KEEP/$t"
    cp "$dir/log" "$FUZZ_KEEP/$t/log"
    rm -rf "$FUZZ_KEEP/$t/corpus"
    cp -r "$dir/corpus" "$FUZZ_KEEP/$t/corpus"
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "run_fuzz: FAIL (logs and reproducers kept in $work)"
  exit 1
fi
echo "run_fuzz: PASS (${#targets[@]} targets, ${seconds}s each)"
