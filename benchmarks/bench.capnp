@0xb7e3c1d2a4f50917;
# The interface every benchmark serves: weft stubs and skeletons, and the
# same schema over Cap'n Proto two-party RPC for the RPC baseline.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weftbench");

interface Bench {
  # Returns its argument: the small-call round trip.
  echo @0 (value :Int64) -> (value :Int64);

  # Reads every byte of `data` and returns their checksum (see checksum.h).
  checksum @1 (data :Data) -> (sum :UInt64);

  # Takes its argument and returns nothing: a one-way streamed call.
  sink @2 (value :Int64) -> stream;
}
