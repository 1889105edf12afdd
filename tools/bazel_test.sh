#!/usr/bin/env bash
# tools/bazel with packages missing, run against fakes of id, dpkg-query,
# apt-get, sudo and the real Bazel (a PATH of only those):
#   non-root, no sudo   says "as root: apt-get install -y <missing>", never
#                       sudo (a minimal Debian has none), exits 1
#   non-root, sudo      also says "sudo apt-get install -y <missing>"
#   root                unchanged: apt-get update, then apt-get install -y -q
#                       --no-install-recommends <missing>, then runs Bazel
#                       with the arguments given
set -euo pipefail

wrapper="${TEST_SRCDIR}/weft/tools/bazel"
work="${TEST_TMPDIR}/bazel_test"
mkdir -p "$work"
failed=0
fail() {
  echo "FAIL [$case]: $*"
  failed=1
}

# fakes DIR UID [sudo]: a PATH directory with id (-u gives UID), a
# dpkg-query that says iceoryx and clang are not installed, a logging
# apt-get and a dirname; with "sudo", a sudo too.
fakes() {
  local dir="$1"
  mkdir -p "$dir"
  printf '#!/bin/bash\necho %s\n' "$2" >"$dir/id"
  cat >"$dir/dpkg-query" <<'FAKE'
#!/bin/bash
case "${@: -1}" in
  iceoryx | clang) echo -n "unknown ok not-installed" ;;
  *) echo -n "install ok installed" ;;
esac
FAKE
  printf '#!/bin/bash\necho "apt-get $*" >>"%s/apt.log"\n' "$dir" >"$dir/apt-get"
  if [[ "${3:-}" == sudo ]]; then
    printf '#!/bin/bash\necho "sudo was run" >>"%s/apt.log"\n' "$dir" >"$dir/sudo"
  fi
  chmod +x "$dir"/*
  ln -sf "$(command -v dirname)" "$dir/dirname"
}
# The Bazel that tools/bazel runs at the end.
real="$work/fake-bazel"
printf '#!/bin/bash\necho "fake bazel: $*"\n' >"$real"
chmod +x "$real"

# run DIR ARGS...: tools/bazel with PATH=DIR; its stdout and stderr in
# $out, its exit status in $status.
run() {
  local dir="$1"
  shift
  status=0
  out=$(PATH="$dir" BAZEL_REAL="$real" /bin/bash "$wrapper" "$@" 2>&1) || status=$?
}

case=non-root
fakes "$work/user" 1000
run "$work/user" version
((status == 1)) || fail "exit status $status, not 1"
grep -qxF "  as root: apt-get install -y iceoryx clang" <<<"$out" || fail "no 'as root' line: $out"
if grep -q sudo <<<"$out"; then fail "mentions sudo, which is not there: $out"; fi
[[ ! -e "$work/user/apt.log" ]] || fail "ran apt-get: $(cat "$work/user/apt.log")"

case=non-root-sudo
fakes "$work/sudoer" 1000 sudo
run "$work/sudoer" version
((status == 1)) || fail "exit status $status, not 1"
grep -qxF "  as root: apt-get install -y iceoryx clang" <<<"$out" || fail "no 'as root' line: $out"
grep -qF "sudo apt-get install -y iceoryx clang" <<<"$out" || fail "no sudo line: $out"
[[ ! -e "$work/sudoer/apt.log" ]] || fail "ran apt-get or sudo: $(cat "$work/sudoer/apt.log")"

case=root
fakes "$work/root" 0 sudo
run "$work/root" version --gnu_format
((status == 0)) || fail "exit status $status, not 0: $out"
grep -qxF "tools/bazel: installing iceoryx clang" <<<"$out" || fail "no 'installing' line: $out"
grep -qxF "fake bazel: version --gnu_format" <<<"$out" || fail "did not run Bazel: $out"
expected=$'apt-get update -q\napt-get install -y -q --no-install-recommends iceoryx clang'
[[ "$(cat "$work/root/apt.log")" == "$expected" ]] ||
  fail "apt-get calls: $(cat "$work/root/apt.log"), not: $expected"

((failed == 0)) || exit 1
echo "tools/bazel test passed"
