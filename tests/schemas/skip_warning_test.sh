#!/usr/bin/env bash
# capnpc-weft on the torture schema, run by hand: it accepts the file, prints
# exactly one warning line per skipped construct (file, interface, method,
# reason, how to silence it) and none for $Weft.skip, and both headers list
# the skipped methods; with WEFT_STRICT=1 the warnings are errors, the exit
# status is 1 and nothing is written.
# Arguments: the plugin, then the schema (runfiles paths).
set -euo pipefail

plugin=$(realpath "$1")
schema=$2
out=$(mktemp -d "${TEST_TMPDIR:-/tmp}/skip.XXXXXX")
mkdir "$out/lenient" "$out/strict"

if ! capnp compile -I/usr/include -I. -o"$plugin:$out/lenient" "$schema" 2>"$out/stderr"; then
  cat "$out/stderr" >&2
  echo "FAIL: capnpc-weft refused $schema" >&2
  exit 1
fi
cat "$out/stderr"
silence_method='[silence: $Weft.skip on the method; make it an error: strict = True]'
capability='shared memory has no capability table, so weft cannot carry it'
expected=(
  "capnpc-weft: warning: $schema: interface torture::Outer::Inner skipped: it is nested in the generic struct torture::Outer, whose type parameters C++ cannot deduce from weft::Stub<...>'s argument (move it out of the generic scope) [silence: \$Weft.skip on the interface; make it an error: strict = True]"
  "capnpc-weft: warning: $schema: interface torture::Torture: method \`torture::Torture.watch\` skipped: param \`cb\` is a capability (interface torture::Callback); $capability $silence_method"
  "capnpc-weft: warning: $schema: interface torture::Torture: method \`torture::Torture.lookup\` skipped: result \`cb\` is a capability (interface torture::Callback); $capability $silence_method"
  "capnpc-weft: warning: $schema: interface torture::Torture: method \`torture::Torture.hold\` skipped: param \`holder.inner.callbacks[]\` is a capability (interface torture::Callback); $capability $silence_method"
  "capnpc-weft: warning: $schema: interface torture::Torture: method \`torture::Torture.raw\` skipped: param \`cap\` is a capability (Capability); $capability $silence_method"
  "capnpc-weft: warning: $schema: interface torture::Torture: method \`torture::base::Left.left\` skipped: its C++ name \`left\` is taken by method \`torture::Torture.ping2\`; weft puts all methods of an interface and its superclasses in one class (rename one with \$Cxx.name) $silence_method"
)
for line in "${expected[@]}"; do
  if ! grep -qxF -- "$line" "$out/stderr"; then
    echo "FAIL: expected this line on stderr: $line" >&2
    exit 1
  fi
done
if (($(wc -l <"$out/stderr") != ${#expected[@]})); then
  echo "FAIL: expected exactly ${#expected[@]} lines on stderr" >&2
  exit 1
fi
if grep -q "private\|Skipped" "$out/stderr"; then
  echo "FAIL: a \$Weft.skip construct was warned about" >&2
  exit 1
fi
for name in torture.weft.h torture.weft-rpc.h; do
  header=$(find "$out/lenient" -name "$name")
  if [[ -z "$header" ]] || ! grep -qF "torture::Torture.private: marked \$Weft.skip" "$header"; then
    echo "FAIL: $name does not list the skipped methods" >&2
    exit 1
  fi
done

if WEFT_STRICT=1 capnp compile -I/usr/include -I. -o"$plugin:$out/strict" "$schema" \
  2>"$out/strict.stderr"; then
  echo "FAIL: strict mode accepted skipped methods" >&2
  exit 1
fi
if ! grep -qF "capnpc-weft: error: $schema: interface torture::Torture: method \`torture::Torture.watch\` skipped" \
  "$out/strict.stderr" || ! grep -qF "strict mode is on (WEFT_STRICT=1); nothing written" "$out/strict.stderr"; then
  cat "$out/strict.stderr" >&2
  echo "FAIL: strict mode did not report the skips as errors" >&2
  exit 1
fi
if [[ -n "$(find "$out/strict" -name '*.weft.h' -o -name '*.weft-rpc.h')" ]]; then
  echo "FAIL: strict mode wrote output despite the errors" >&2
  exit 1
fi
echo PASS
