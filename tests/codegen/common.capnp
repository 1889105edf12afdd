# Declarations shapes.capnp imports by workspace-absolute path, from another
# weft_capnp_library and another C++ namespace.
@0xeb19f3c26814f90c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weft_test::common");

enum Color {
  red @0;
  green @1;
  blue @2;
}

struct RenderOptions {
  dpi @0 :UInt32;
  color @1 :Color;
}

# Answers pings. Inherited from another file by shapes.capnp's Shape.
interface Pingable {
  ping @0 () -> ();
  # Does nothing, quickly.
}
