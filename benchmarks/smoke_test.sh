#!/usr/bin/env bash
# Runs every benchmark suite for a handful of iterations through the compare
# driver (compare --smoke) and checks the report: each benchmark ran and got
# the right answers (a wrong echo or checksum fails its suite), and
# summary.json has every ratio key. Nothing here depends on timing. The
# plot (payload.svg, drawn by gnuplot) must be there when gnuplot is; without
# gnuplot summary.md must say that it was skipped. And the iceoryx suite
# must leave none of iceoryx's files behind (RouDi's ~160 MB of shared
# memory, its lock files and sockets, the apps'): no name in /dev/shm or /tmp
# that iceoryx makes is new, or has a new inode, afterwards.
set -euo pipefail

compare="${TEST_SRCDIR}/weft/benchmarks/compare"
out="${TEST_TMPDIR}/bench-smoke"
source "${TEST_SRCDIR}/weft/benchmarks/iceoryx_files.sh"

before=$(iceoryx_files)
"$compare" --smoke --out="$out"
iceoryx_check_left "$before"

for f in summary.md summary.json; do
  [[ -s "$out/$f" ]] || { echo "missing $out/$f"; exit 1; }
done
if command -v gnuplot >/dev/null; then
  grep -q "<svg" "$out/payload.svg" || { echo "no plot in $out/payload.svg"; exit 1; }
  grep -q "](payload.svg)" "$out/summary.md" || { echo "summary.md does not show the plot"; exit 1; }
else
  grep -q "plot skipped: gnuplot not found; install gnuplot-nox" "$out/summary.md" ||
    { echo "no gnuplot, and summary.md does not say the plot was skipped"; exit 1; }
fi
for suite in floor weft baselines iceoryx; do
  [[ -s "$out/raw/$suite.rep1.json" ]] || { echo "missing raw JSON of $suite"; exit 1; }
done
for key in weft_over_floor iceoryx_over_weft capnp_rpc_over_weft condvar_over_weft \
           process_over_thread sleeping_over_futex then_over_get queue_over_get \
           pipelined_calls_per_s weft_over_capnp_shm capnp_shm_over_floor \
           pipelined_over_capnp_shm_pipelined idle_cpu_s_per_s remote_unix_over_capnp_rpc_unix \
           remote_tcp_over_capnp_rpc_tcp remote_unix_over_shm; do
  grep -q "\"$key\": " "$out/summary.json" || { echo "summary.json lacks ratios.$key"; exit 1; }
done
# A ratio may only be null with a reason under "missing".
while read -r key; do
  grep -q "^    \"$key\": \"" "$out/summary.json" ||
    { echo "ratios.$key is null without a missing note"; exit 1; }
done < <(sed -n '/"ratios"/,/}/p' "$out/summary.json" | grep ': null' | sed 's/ *"\([a-z_]*\)".*/\1/')
echo "smoke test passed"
