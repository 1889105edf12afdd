@0xc6a1e2f4b8d3a597;
# The remote demo's interface: a square, and where it was computed.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("remote_demo");

interface Where {
  square @0 (value :Int64) -> (result :Int64, ranOn :Text);
}
