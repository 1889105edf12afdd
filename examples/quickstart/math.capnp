@0xd4c1a2b3e5f60718;
# The quickstart's interface: three small tasks a pool of workers serves.

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
$Cxx.namespace("quickstart");

interface Math {
  # Squares an integer.
  square @0 (value :Int64) -> (result :Int64);

  # The length of the hypotenuse of a right triangle with legs x and y.
  hypot @1 (x :Float64, y :Float64) -> (length :Float64);

  # Counts from 0 towards `limit`, stopping early when the caller aborts.
  countTo @2 (limit :UInt64) -> (reached :UInt64) $Weft.abortable $Weft.timeoutMs(500);
}
