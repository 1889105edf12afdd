# The control channel between a pool and a process worker: the host sends
# Boot once the worker has started, the worker answers Ready.
@0xc7d3a91e5b20f846;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weft::control");

struct Boot {
  workerIndex @0 :UInt32;
  # Where the region is: an inherited file descriptor (>= 0), or else a
  # path to open: a POSIX shared-memory name ("/weft-...") or a
  # /proc/<pid>/fd/<n> path (a replacement in named mode).
  regionFd @1 :Int32 = -1;
  regionName @2 :Text;
  maxPayloadBytes @3 :UInt64;
  spinPolls @4 :UInt32;
  yieldPolls @5 :UInt32;
  # Identifies this start; the worker stores it in its region before it
  # serves (RegionHeader::boot_token).
  bootToken @6 :UInt64;
}

struct Ready {
  # absl::StatusCode of the start (0: ready), and what went wrong.
  code @0 :UInt32;
  message @1 :Text;
  pid @2 :Int32;
}
