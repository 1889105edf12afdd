#!/usr/bin/env bash
# A suite or baseline that cannot run says why in compare's report: in
# summary.md its rows, its ratios, the "Not run" section and the plot's
# note, escaped for Markdown (a '|' would split the table cell, a '<...>'
# would vanish as HTML, a backtick would start code); in summary.json under
# missing and not_run.
#   no-roudi   the iceoryx suite with a RouDi that cannot start
#              (WEFT_BENCH_IOX_ROUDI): "iox-roudi could not start: <what
#              it wrote to stderr>"
#   crashed    a suite that exits without writing results (--host_cpu
#              beyond the CPUs): its exit status and the last line of its
#              log, not an old run's JSON left in the same directory
set -euo pipefail

compare="${TEST_SRCDIR}/weft/benchmarks/compare"
source "${TEST_SRCDIR}/weft/benchmarks/iceoryx_files.sh"

failed=0
# expect FILE TEXT: FILE has the line, or one containing TEXT (fixed string).
expect() {
  grep -qF -- "$2" "$1" || {
    echo "FAIL [$case]: $(basename "$1") lacks: $2"
    failed=1
  }
}

case=no-roudi
fake="${TEST_TMPDIR}/fake-roudi"
cat >"$fake" <<'FAKE'
#!/bin/sh
printf '%s\n' 'fake-roudi: cannot map <segment> | `denied` *here*' 'second line' >&2
exit 1
FAKE
chmod +x "$fake"
out="${TEST_TMPDIR}/report"
before=$(iceoryx_files)
WEFT_BENCH_IOX_ROUDI="$fake" "$compare" --smoke --suites=iceoryx --out="$out" \
  >"${TEST_TMPDIR}/$case.log" 2>&1 || {
  echo "FAIL [$case]: compare exited with $? (skipped rows are no failure)"
  failed=1
}
md="$out/summary.md"
why='skipped: iox-roudi could not start: fake-roudi: cannot map &lt;segment&gt; \| \`denied\` \*here\* / second line'
expect "$md" "- **iceoryx** (BM_IceoryxEcho, BM_IceoryxPubSubEcho, BM_IceoryxPayload/64, BM_IceoryxPayload/65536, BM_IceoryxPayload/16777216): $why"
expect "$md" "| \`iceoryx_over_weft\` | null | ≥ 8 | iceoryx request/response p50 ÷ weft p50 — **missing**: BM_IceoryxEcho: $why; BM_WeftEchoThread did not run: the weft suite was not run (--suites) |"
expect "$md" "| BM_IceoryxEcho | iceoryx 2.0 request/response, busy polling — $why | — | — | — | — |"
expect "$md" "| BM_IceoryxPubSubEcho | iceoryx 2.0 publish/subscribe, a topic each way, busy polling — $why | — | — | — | — |"
for size in 64 65536 16777216; do
  expect "$md" "| BM_IceoryxPayload/$size | iceoryx request/response, $size B — $why | — | — | — | — |"
done
expect "$md" "- iceoryx request/response: BM_IceoryxPayload/64: $why"
expect "$md" "- **weft**: not run (--suites)"
if grep -q $'\e' "$md"; then
  echo "FAIL [$case]: summary.md has escape sequences"
  failed=1
fi
json="$out/summary.json"
expect "$json" '"iceoryx_over_weft": "BM_IceoryxEcho: skipped: iox-roudi could not start: fake-roudi: cannot map <segment> | `denied` *here* / second line; '
expect "$json" '"BM_IceoryxEcho, BM_IceoryxPubSubEcho, BM_IceoryxPayload/64, BM_IceoryxPayload/65536, BM_IceoryxPayload/16777216: skipped: iox-roudi could not start: fake-roudi'
iceoryx_check_left "$before" || failed=1

case=crashed
# The same directory: the no-roudi run's raw/iceoryx.rep1.json is there.
if "$compare" --smoke --suites=iceoryx --host_cpu=100000 --out="$out" \
  >"${TEST_TMPDIR}/$case.log" 2>&1; then
  echo "FAIL [$case]: compare exited with 0 although the suite failed"
  failed=1
fi
crash='rep 1: the iceoryx suite exited with status 2 and wrote no results; the last line of raw/iceoryx.rep1.log: --host_cpu/--worker_cpu beyond the'
expect "$md" "- **iceoryx**: $crash"
expect "$md" "**missing**: BM_IceoryxEcho did not run: $crash"
expect "$md" "- iceoryx request/response: $crash"
if grep -q "fake-roudi" "$md"; then
  echo "FAIL [$case]: summary.md shows the earlier run's results"
  failed=1
fi

if ((failed)); then
  for f in "$out/summary.md" "${TEST_TMPDIR}"/*.log; do
    echo "=== $f"
    cat "$f"
  done
  exit 1
fi
echo "report test passed"
