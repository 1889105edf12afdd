@0xa7af485c83e9fd98;
# The observability example's interface: a fast call, a slow one and one
# that fails now and then, so that the stats have something to show.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("observability");

interface Load {
  fast @0 (value :UInt64) -> (value :UInt64);
  slow @1 (micros :UInt32) -> ();
  flaky @2 (value :UInt64) -> (value :UInt64);  # every 10th value fails (Unavailable)
}
