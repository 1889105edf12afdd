@0xb1f0c3a5d7e90214;
# A service for the pool tests: each method exercises one path of a call.

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
$Cxx.namespace("weft_test");

interface TestService {
  square @0 (value :Int64) -> (result :Int64);
  # Returns the bytes it got and their checksum (reads every byte).
  echo @1 (data :Data) -> (data :Data, checksum :UInt64);
  # Returns a status with this code and message.
  fail @2 (code :UInt32, message :Text) -> ();
  # Throws std::runtime_error(message).
  throwError @3 (message :Text) -> ();
  # Returns `size` bytes, byte i = i % 251.
  makeBlob @4 (size :UInt64) -> (blob :Data);
  # Blocks until the test opens the gate (or the call is aborted).
  gated @5 () -> (wasAborted :Bool) $Weft.abortable;
  # Which worker served the call (0-based, in creation order).
  whoAmI @6 () -> (worker :UInt32);
  # Gated, with a 30 ms deadline from the schema that yields default results.
  gatedDefault @7 () -> (value :Int64) $Weft.abortable $Weft.timeoutMs(30) $Weft.defaultOnTimeout;
  # Gated, with a 30 ms deadline from the schema.
  gatedTimed @8 () -> (value :Int64) $Weft.abortable $Weft.timeoutMs(30);
  # Counts to `iterations`, stopping early when aborted.
  spin @9 (iterations :UInt64) -> (reached :UInt64) $Weft.abortable;
  # Blocks until the gate opens, never looking at aborted() (a method that
  # shutdown cannot interrupt).
  stuck @10 () -> ();
  # Returns `count` texts "item <i>".
  manyTexts @11 (count :UInt32) -> (items :List(Text));
}
