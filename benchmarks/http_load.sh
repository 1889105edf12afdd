#!/usr/bin/env bash
# Loads examples/http_service with wrk and compares its three ways of running
# the same CPU-heavy request (count the primes up to n): on a weft pool
# (/weft), on the event loop (/inline), on a plain thread pool (/threads).
#
#   benchmarks/http_load.sh                      # the full run: 3 rounds of 10 s per variant
#   benchmarks/http_load.sh --seconds=1 --rounds=1 --warmup=0   # a smoke run
#
# It builds the server with -c opt, starts it pinned with taskset, runs wrk
# (pinned too) against each endpoint in turn, ROUNDS times, rotating the
# order each round so no variant always goes first, and prints a Markdown
# report: per variant the median requests/s and p99 latency over the rounds
# with their min–max spread, the error counts, the machine (lscpu), the date
# and the exact settings. The report and every raw wrk output are also
# written to --out (default: a new directory under /tmp).
#
# Options (defaults in brackets):
#   --seconds=S      length of each measured wrk run [10]
#   --rounds=R       rounds; each runs every variant once [3]
#   --warmup=S       an unmeasured run per variant before the rounds [2]; 0: none
#   --connections=C  wrk connections [16]
#   --threads=T      wrk threads [1]
#   --n=N            the n every request asks for [200000: about 0.5 ms of sieve]
#   --workers=W      the server's --workers [0: the server's CPUs minus one]
#   --server-cpus=L  taskset CPU list of the server [1-(last) with 3+ CPUs; all with 2]
#   --wrk-cpus=L     taskset CPU list of wrk [0]
#   --out=DIR        where the report and raw outputs go
#
# It installs nothing: wrk must be on PATH (Debian 12: apt-get install -y wrk).
# wrk's latencies are measured from each request's send on an open
# connection (closed-loop load), so under overload they show service time
# plus queueing at the server, not a fixed-rate client's view.
set -euo pipefail

seconds=10 rounds=3 warmup=2 connections=16 threads=1 n=200000 workers=0
server_cpus="" wrk_cpus="0" out=""
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    --warmup=*) warmup="${arg#*=}" ;;
    --connections=*) connections="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    --n=*) n="${arg#*=}" ;;
    --workers=*) workers="${arg#*=}" ;;
    --server-cpus=*) server_cpus="${arg#*=}" ;;
    --wrk-cpus=*) wrk_cpus="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "http_load: unknown argument '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done
for v in seconds rounds warmup connections threads n workers; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "http_load: --$v=${!v}: give a whole number" >&2; exit 2; }
done
((seconds > 0 && rounds > 0 && connections > 0 && threads > 0)) ||
  { echo "http_load: --seconds, --rounds, --connections and --threads must be positive" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
  echo "http_load: wrk is not on PATH. Install it (Debian 12) as root: apt-get install -y wrk" >&2
  exit 1
fi
for tool in taskset lscpu; do
  command -v "$tool" >/dev/null || { echo "http_load: $tool is not on PATH (util-linux)" >&2; exit 1; }
done

cpus=$(nproc --all)
if [[ -z "$server_cpus" ]]; then
  # With 3+ CPUs wrk keeps CPU 0 to itself; with 2 the server needs both
  # (the loop and one worker) and wrk shares CPU 0 with it.
  if ((cpus >= 3)); then server_cpus="1-$((cpus - 1))"; else server_cpus="0-$((cpus - 1))"; fi
fi
[[ -n "$out" ]] || out=$(mktemp -d /tmp/http_load.XXXXXX)
mkdir -p "$out"

cd "$(dirname "$0")/.."
echo "http_load: building //examples/http_service with -c opt" >&2
tools/bazel build -c opt //examples/http_service >&2
bin="$(tools/bazel info -c opt bazel-bin 2>/dev/null)/examples/http_service/http_service"
[[ -x "$bin" ]] || { echo "http_load: no binary at $bin after the build" >&2; exit 1; }

server_pid=""
stop_server() {
  [[ -n "$server_pid" ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT

server_args=(--port=0 "--n=$n")
((workers > 0)) && server_args+=("--workers=$workers")
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Made here: the background job opens them only when it gets to run.
: >"$out/server.out"
: >"$out/server.err"
taskset -c "$server_cpus" "$bin" "${server_args[@]}" >"$out/server.out" 2>"$out/server.err" &
server_pid=$!
port=""
for ((i = 0; i < 600; i++)); do  # a hang guard: 60 s
  port=$(sed -n 's|^http_service: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' \
    "$out/server.out")
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "http_load: the server printed no URL in 60 s" >&2; exit 1; }
start_line=$(head -1 "$out/server.out")
echo "http_load: $start_line" >&2

variants=(weft inline threads)
run_wrk() {  # VARIANT SECONDS FILE
  taskset -c "$wrk_cpus" wrk "-t$threads" "-c$connections" "-d${2}s" --latency \
    "http://127.0.0.1:$port/$1?n=$n" >"$3"
}

if ((warmup > 0)); then
  for v in "${variants[@]}"; do
    echo "http_load: warm-up $v (${warmup} s)" >&2
    run_wrk "$v" "$warmup" "$out/warmup-$v.txt"
  done
fi
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v="${variants[$(((k + r - 1) % ${#variants[@]}))]}"
    echo "http_load: round $r/$rounds: $v (${seconds} s)" >&2
    run_wrk "$v" "$seconds" "$out/round$r-$v.txt"
  done
done
stop_server

# One wrk output -> "requests/s p99_ms errors".
parse() {
  awk '
    function ms(s) {
      if (s ~ /us$/) return s / 1000
      if (s ~ /ms$/) return s + 0
      if (s ~ /m$/) return s * 60000
      if (s ~ /s$/) return s * 1000
      return -1
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ {
      for (i = 3; i <= NF; i += 2) { v = $(i + 1); gsub(",", "", v); errors += v }
    }
    END { printf "%s %s %d\n", (rps == "" ? -1 : rps), (p99 == "" ? -1 : p99), errors }
  ' "$1"
}
# Numbers on stdin -> "median min max".
stats() {
  sort -g | awk '{ v[NR] = $1 }
    END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %s %s\n", m, v[1], v[NR]
    }'
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "# http_service under wrk: weft vs inline vs thread pool"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: ${model:-unknown CPU}, $cpus CPUs, $(uname -sr); load average at start: $load_at_start"
  echo "- commit: $commit; server built with -c opt"
  echo "- server: \`${start_line#http_service: }\`, pinned to CPUs $server_cpus"
  echo "- wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'): -t$threads -c$connections, ${seconds} s per run, pinned to CPUs $wrk_cpus; rounds: $rounds, each variant once per round, order rotating; warm-up: ${warmup} s per variant"
  echo "- every request: GET /<variant>?n=$n"
  echo
  echo "| variant | requests/s (median) | requests/s (min–max) | p99 (median) | p99 (min–max) | errors |"
  echo "|---|---:|---:|---:|---:|---:|"
  for v in "${variants[@]}"; do
    rps_list="" p99_list="" errors=0
    for ((r = 1; r <= rounds; r++)); do
      read -r rps p99 e < <(parse "$out/round$r-$v.txt")
      rps_list+="$rps"$'\n'
      p99_list+="$p99"$'\n'
      errors=$((errors + e))
    done
    read -r rps_med rps_min rps_max < <(printf '%s' "$rps_list" | stats)
    read -r p99_med p99_min p99_max < <(printf '%s' "$p99_list" | stats)
    printf '| %s | %.0f | %.0f–%.0f | %.2f ms | %.2f–%.2f ms | %d |\n' "$v" \
      "$rps_med" "$rps_min" "$rps_max" "$p99_med" "$p99_min" "$p99_max" "$errors"
  done
  echo
  echo "errors: non-2xx responses plus wrk's socket errors (connect, read, write, timeout), over all rounds."
  echo "Raw wrk outputs and the server's log: $out"
} | tee "$out/summary.md"
