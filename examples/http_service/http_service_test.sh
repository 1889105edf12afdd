#!/usr/bin/env bash
# Runs http_service as a user would and talks HTTP/1.1 to it over bash's
# /dev/tcp, so the test needs no HTTP client package:
#   1. on --port=0 with --requests=K: the three endpoints give the same,
#      known answer, one at a time and 8 at once each; /healthz says ok; a
#      missing, non-numeric and too large n are 400s whose body names the
#      fix; an unknown path is a 404; after the K-th answer it exits 0 by
#      itself;
#   2. SIGTERM stops a serving server with exit status 0.
# Nothing here is timed: every wait is bounded only to turn a hang into a
# failure.
set -euo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
hang_bound=60  # seconds; only a hang gets there

server_pid=""
cleanup() { if [[ -n "$server_pid" ]]; then kill -9 "$server_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$tmp"/server.out "$tmp"/server.err; do
    [[ -s "$f" ]] && { echo "--- $f"; cat "$f"; }
  done
  exit 1
}

# start ARGS...: starts the server and sets $port from its start line.
start() {
  # Made here: the background job opens them only when it gets to run.
  : >"$tmp/server.out"
  : >"$tmp/server.err"
  "$bin" --port=0 --workers=1 --n=1000 "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
  port=""
  for ((i = 0; i < hang_bound * 20; i++)); do
    port=$(sed -n 's|^http_service: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' \
      "$tmp/server.out")
    [[ -n "$port" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited before printing its URL"
    sleep 0.05
  done
  fail "no start line in ${hang_bound}s"
}

# get PATH: one GET on a fresh connection; sets $status and $body (read by
# Content-Length).
get() {
  local fd line length=0
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to port $port"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&"$fd"
  IFS= read -r -t "$hang_bound" line <&"$fd" || fail "GET $1: no status line"
  line="${line%$'\r'}"
  [[ "$line" =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] || fail "GET $1: bad status line '$line'"
  status="${BASH_REMATCH[1]}"
  while IFS= read -r -t "$hang_bound" line <&"$fd"; do
    line="${line%$'\r'}"
    [[ -z "$line" ]] && break
    if [[ "${line,,}" =~ ^content-length:\ *([0-9]+) ]]; then length="${BASH_REMATCH[1]}"; fi
  done
  body=""
  if ((length > 0)); then
    IFS= read -r -N "$length" -t "$hang_bound" body <&"$fd" || fail "GET $1: short body"
  fi
  exec {fd}<&-
}

# expect PATH STATUS BODY_REGEX
expect() {
  get "$1"
  [[ "$status" == "$2" ]] || fail "GET $1: status $status, want $2 (body: $body)"
  [[ "$body" =~ $3 ]] || fail "GET $1: body '$body' does not match '$3'"
  echo "ok: GET $1 -> $status ${body%$'\n'}"
}

# wait_exit: waits (bounded) for the server to exit; sets $exit_status.
wait_exit() {
  for ((i = 0; i < hang_bound * 20; i++)); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      exit_status=0
      wait "$server_pid" || exit_status=$?
      server_pid=""
      return 0
    fi
    sleep 0.05
  done
  fail "the server did not exit in ${hang_bound}s"
}

# 1. Answers, errors, and --requests.
answer='^\{"n":100000,"count":9592,"last":99991\}'$'\n''$'
start --requests=35
expect /healthz 200 '^ok'
expect '/weft?n=100000' 200 "$answer"
expect '/inline?n=100000' 200 "$answer"
expect '/threads?n=100000' 200 "$answer"
expect '/weft?n=2' 200 '^\{"n":2,"count":1,"last":2\}'
expect /weft 400 'missing n: ask for /weft\?n=1000 '
expect '/inline?n=abc' 400 'not a whole number: ask for /inline\?n=1000 '
expect '/threads?n=10000001' 400 'over the maximum of 10000000: ask for /threads\?n=1000 '
expect '/weft?n=-5' 400 'not a whole number'
expect /nope 404 'no such endpoint; try /weft\?n=1000'
expect '/threads?n=10000000' 200 '^\{"n":10000000,"count":664579,"last":9999991\}'
# 8 at once per endpoint, so that answers interleave on the loop: each
# client in its own subshell, its verdict in its exit status.
clients=()
for endpoint in weft inline threads; do
  for ((c = 0; c < 8; c++)); do
    (expect "/$endpoint?n=100000" 200 "$answer" >/dev/null) &
    clients+=($!)
  done
done
for pid in "${clients[@]}"; do wait "$pid" || fail "a concurrent client failed (above)"; done
echo "ok: 24 concurrent GETs, 8 per endpoint, all the same answer"
wait_exit
((exit_status == 0)) || fail "exit status $exit_status after --requests=35, want 0"
grep -q 'answered 35 requests, stopping' "$tmp/server.err" || fail "no 'answered 35 requests'"
echo "ok: exited 0 after 35 requests"

# 2. SIGTERM.
start
expect '/weft?n=1000' 200 '^\{"n":1000,"count":168,"last":997\}'
kill -TERM "$server_pid"
wait_exit
((exit_status == 0)) || fail "exit status $exit_status after SIGTERM, want 0"
grep -q 'stopping' "$tmp/server.err" || fail "SIGTERM: no 'stopping' line"
echo "ok: exited 0 on SIGTERM"
echo PASS
