#!/usr/bin/env bash
# The iceoryx suite leaves nothing in /tmp and /dev/shm, whatever happens to
# it, and copes with an earlier run's stale files. Each case runs in a
# private /tmp and /dev/shm (a new mount namespace with two tmpfs), so that
# it sees exactly what the suite made and neither sees nor disturbs another
# run's RouDi:
#   clean        a --smoke run
#   crashed      a RouDi that was SIGKILLed and a server's files, left by an
#                earlier run: the run succeeds and removes them
#   killed       the suite SIGKILLed mid-run (the keeper cleans up)
#   interrupted  SIGINT to the suite's process group mid-run (a Ctrl-C)
#   busy         another RouDi runs: rows skipped naming its pid, its files
#                untouched
# and, as another user (uid 65534, with setpriv):
#   not-ours     root's stale RouDi files: rows skipped, the reason says
#                what to remove as root
#   retry        its own stale lock that RouDi cannot open: removed, RouDi
#                started once more, the run succeeds
# Needs root (for unshare --mount); skips, saying so, without.
set -euo pipefail

suite="${TEST_SRCDIR}/weft/benchmarks/iceoryx_benchmark"

if [[ "${1:-}" != --inside ]]; then
  if ! unshare --mount --propagation private true 2>/dev/null; then
    echo "SKIPPED: cannot unshare a mount namespace here (needs root)"
    exit 0
  fi
  exec unshare --mount --propagation private "$0" --inside
fi
mount -t tmpfs -o mode=1777 weft-test-tmp /tmp
mount -t tmpfs -o mode=1777 weft-test-shm /dev/shm
# The binary, where uid 65534 can run it (not under /root); the one entry
# of /tmp that is no iceoryx file.
bin=/tmp/weft-test-bin
mkdir -m 755 "$bin"
cp "$suite" "$bin/iceoryx_benchmark"
chmod 755 "$bin/iceoryx_benchmark"
suite="$bin/iceoryx_benchmark"
logs="${TEST_TMPDIR}/logs"
mkdir -p "$logs"

failed=0
fail() {
  echo "FAIL [$case]: $*"
  failed=1
}
# What is in /tmp and /dev/shm, but the binary.
entries() { ls -liA --time-style=+ /tmp /dev/shm | grep -v ' weft-test-bin$'; }
empty=$(entries)
# Waits up to 60 s for /tmp and /dev/shm to be empty (the keeper may still
# be cleaning up after a killed suite; a loaded machine is slow), then
# checks.
expect_empty() {
  for _ in $(seq 600); do
    [[ "$(entries)" == "$empty" ]] && return 0
    sleep 0.1
  done
  fail "left behind:"
  entries
}
clean_all() {
  find /tmp /dev/shm -mindepth 1 -maxdepth 1 ! -name weft-test-bin -exec rm -rf {} +
}
# The rows that ran: echo, pub/sub echo, three payload sizes (--smoke).
rows_ran() { grep -c '^BM_Iceoryx.*p50_ns=' "$1" || true; }
# Waits until the suite's client is registered with RouDi (its lock file).
wait_running() {
  for _ in $(seq 600); do
    [[ -e /tmp/weft-bench-iox-client.lock ]] && return 0
    sleep 0.1
  done
  fail "the suite did not start its client within 60 s"
}
# A crashed run's files, made by `$@` (a command prefix, empty for root):
# RouDi SIGKILLed once ready, and a server's lock file.
crashed_run() {
  "$@" iox-roudi -l off >>"$logs/roudi.log" 2>&1 &
  local roudi=$!
  for _ in $(seq 600); do
    [[ -S /tmp/roudi && -e /dev/shm/iceoryx_mgmt ]] && break
    sleep 0.1
  done
  sleep 0.5
  kill -KILL "$roudi"
  wait "$roudi" 2>/dev/null || true
  "$@" sh -c 'umask 077 && : > /tmp/weft-bench-iox-server.lock'
}

case=clean
"$suite" --smoke >"$logs/$case.log" 2>&1 || fail "suite exited with $?"
[[ $(rows_ran "$logs/$case.log") -eq 5 ]] || fail "not every row ran: $(grep SKIPPED "$logs/$case.log" | head -1)"
expect_empty
clean_all

case=crashed
crashed_run
[[ -e /dev/shm/iceoryx_mgmt && -e /tmp/iox-unique-roudi.lock ]] || fail "no stale state made"
"$suite" --smoke >"$logs/$case.log" 2>&1 || fail "suite exited with $?"
[[ $(rows_ran "$logs/$case.log") -eq 5 ]] || fail "not every row ran: $(grep SKIPPED "$logs/$case.log" | head -1)"
grep -q "NOTE: iceoryx: removed the files of an earlier run's weft-bench-iox-server" "$logs/$case.log" ||
  fail "no note on the stale server lock removed"
expect_empty
clean_all

case=killed
"$suite" --quick >"$logs/$case.log" 2>&1 &
pid=$!
wait_running
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
expect_empty
grep -q "NOTE: iceoryx: iox-roudi .*; removed what this run's RouDi and apps left: " "$logs/$case.log" ||
  fail "no note on what was removed"
clean_all

case=interrupted
setsid "$suite" --quick >"$logs/$case.log" 2>&1 &
pid=$!
wait_running
# Without job control the background job is no group leader, so setsid
# made the suite one.
[[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]] || fail "the suite leads no process group"
kill -INT -- "-$pid"
wait "$pid" 2>/dev/null || true
expect_empty
clean_all

case=busy
iox-roudi -l off >>"$logs/roudi.log" 2>&1 &
roudi=$!
for _ in $(seq 600); do
  [[ -S /tmp/roudi ]] && break
  sleep 0.1
done
before=$(entries)
"$suite" --smoke >"$logs/$case.log" 2>&1 || fail "suite exited with $?"
grep -q "SKIPPED: iox-roudi could not start: another RouDi is running (pid $roudi holds" \
  "$logs/$case.log" || fail "the skip does not name the other RouDi: $(grep -m1 SKIPPED "$logs/$case.log")"
[[ "$(entries)" == "$before" ]] || fail "the other RouDi's files changed"
kill -TERM "$roudi"
wait "$roudi" || fail "the other RouDi exited with $?"
expect_empty
clean_all

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if ! "${nobody[@]}" true 2>/dev/null; then
  echo "SKIPPED the cases of another user: setpriv cannot switch to uid 65534 here"
else
  case=not-ours
  crashed_run
  "${nobody[@]}" "$suite" --smoke >"$logs/$case.log" 2>&1 || fail "suite exited with $?"
  grep -q "SKIPPED: iox-roudi could not start: the stale RouDi files of an earlier run .* not ours .*; as root: rm -f /dev/shm/iceoryx_mgmt " \
    "$logs/$case.log" || fail "the skip does not say what to remove: $(grep -m1 SKIPPED "$logs/$case.log")"
  clean_all

  case=retry
  crashed_run "${nobody[@]}"
  chmod 000 /tmp/iox-unique-roudi.lock
  "${nobody[@]}" "$suite" --smoke >"$logs/$case.log" 2>&1 || fail "suite exited with $?"
  [[ $(rows_ran "$logs/$case.log") -eq 5 ]] || fail "not every row ran: $(grep SKIPPED "$logs/$case.log" | head -1)"
  grep -q "NOTE: iceoryx: iox-roudi could not start (.*); removed the stale RouDi files of an earlier run, which no live process held: .*/tmp/iox-unique-roudi.lock; starting it once more" \
    "$logs/$case.log" || fail "no note on the retry"
  grep -q "NOTE: iceoryx: iox-roudi started on the second try" "$logs/$case.log" || fail "no second try"
  expect_empty
  clean_all
fi

if ((failed)); then
  echo "the suite's output is in ${logs}:"
  for f in "$logs"/*.log; do
    echo "=== $f"
    sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -E "NOTE|SKIPPED|FAILED|rror" | cut -c1-600 || true
  done
  exit 1
fi
echo "iceoryx cleanup test passed"
