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
  # hostile_worker: fills the request inline area of every slot of every
  # lane of its region (memory the host builds requests in) with words that
  # look like Cap'n Proto pointers aimed far outside the segment, then
  # returns OK. Other workers: does nothing.
  poison @8 () -> ();
}
