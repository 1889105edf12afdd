@0xfc028d9d8c312baa;
# The process-worker tests' service: each method exercises one path of a
# worker process's life (see the *_test.cc files and the *_worker.cc binaries).

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
$Cxx.namespace("weft_test");

interface ProcTest {
  square @0 (value :Int64) -> (result :Int64);
  # Returns the bytes it got and their checksum (reads every byte).
  echo @1 (data :Data) -> (data :Data, checksum :UInt64);
  # Counts to `iterations`, stopping early when aborted.
  spin @2 (iterations :UInt64) -> (reached :UInt64) $Weft.abortable;
  # The worker process's pid.
  pid @3 () -> (pid :Int32);
  # The worker's environment variable `name` ("" when unset).
  getEnv @4 (name :Text) -> (value :Text);
  # std::abort() in the worker.
  crash @5 () -> ();
  # Writes `line` and a newline to the worker's stdout, and flushes.
  print @6 (line :Text) -> ();
  # hostile_worker: starts overwriting its own shared memory with random
  # bytes, forever. Other workers: does nothing.
  scribble @7 () -> ();
  # hostile_worker: tries every way to write the requests block of its
  # region (memory the host builds requests in, read-only to the worker:
  # mprotect, a writable mmap or pwrite of its descriptor or the host's,
  # through /proc, a punched hole, ftruncate, a plain store in a child) and
  # fills the request inline areas with words that look like Cap'n Proto
  # pointers aimed far outside the segment through any that works, naming
  # them in a FailedPrecondition; OK when all were refused. Other workers:
  # does nothing.
  poison @8 () -> ();
  # Echoes `data`, and says which of the worker's mappings the request's
  # bytes were read from: its /proc/self/maps permissions and path (e.g.
  # "r--s /memfd:weft-requests (deleted)"), "" if none holds them.
  placement @9 (data :Data) -> (data :Data, mapping :Text);
  # Echoes `data`. hostile_worker: then keeps rewriting the response areas
  # of every lane (inline and heap, and the slots' response tables) from a
  # thread, forever, once the call is published. Other workers: only echoes.
  rewrite @10 (data :Data) -> (data :Data);
}
