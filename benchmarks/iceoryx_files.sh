# Sourced by the benchmark tests: the files iceoryx 2.0.3 makes, and a check
# that a run left none of them behind (see benchmarks/iceoryx_roudi.h).
#
#   before=$(iceoryx_files)
#   ... run something that starts RouDi ...
#   iceoryx_check_left "$before"    # exit 1, with a listing, if it left any

# "<inode> <path>" of each, sorted: RouDi's /dev/shm/iceoryx_mgmt and
# /dev/shm/<group> (its data segment, named after the group running it),
# /tmp/iox-unique-roudi.lock, /tmp/roudi.lock, /tmp/roudi; the apps'
# /tmp/weft-bench-iox-*{,.lock}; the suite's /tmp/weft-bench-iox-XXXXXX
# directory. With the inode, a file made anew under an old stale name counts
# as new too.
iceoryx_files() {
  {
    find /dev/shm -maxdepth 1 \( -name iceoryx_mgmt -o -name "$(id -gn)" -o -name 'iox*' \) \
      -printf '%i %p\n'
    find /tmp -maxdepth 1 \( -name 'iox*' -o -name roudi -o -name roudi.lock \
      -o -name 'weft-bench-iox*' \) -printf '%i %p\n'
  } 2>/dev/null | sort
}

# The pids that hold a lock on file $1 (from /proc/locks, whose device is
# major:minor in hex).
lock_holders() {
  local dev ino
  read -r dev ino < <(stat -c '%d %i' "$1" 2>/dev/null) || return 0
  local id
  id=$(printf '%02x:%02x:%d' $(((dev >> 8) & 0xfff | ((dev >> 32) & ~0xfff))) \
    $(((dev & 0xff) | ((dev >> 12) & ~0xff))) "$ino")
  awk -v id="$id" '{ for (i = 2; i <= NF; i++) if ($i == id) print $(i - 1) }' /proc/locks
}

# Fails when iceoryx files are there that were not in $1 (an earlier
# iceoryx_files). Ours are all gone by now; another run's (another user's,
# another checkout's) come and go: so it waits up to 5 s for new ones to
# go, and if a live RouDi holds /tmp/iox-unique-roudi.lock, it is another
# run's and so may be the new files, which are then only listed.
iceoryx_check_left() {
  local new holders
  for _ in $(seq 50); do
    new=$(comm -13 <(printf '%s\n' "$1") <(iceoryx_files) | sed '/^$/d')
    [[ -z "$new" ]] && return 0
    sleep 0.1
  done
  holders=$(lock_holders /tmp/iox-unique-roudi.lock)
  if [[ -n "$holders" ]]; then
    echo "warning: new iceoryx files, but another RouDi runs (pid $holders holds" \
      "/tmp/iox-unique-roudi.lock) and they may be its:"
    printf '  %s\n' "$new"
    return 0
  fi
  echo "iceoryx files left behind (inode path), by no live RouDi:"
  printf '%s\n' "$new" | sed 's/^/  /'
  ls -la /dev/shm /tmp
  return 1
}
