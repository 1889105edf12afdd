# A schema with no interface at all: capnpc-weft writes a header that only
# says so, and no error.
@0x9a49ab725535b220;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("torture::plain");

struct Only {
  value @0 :UInt32;
}
