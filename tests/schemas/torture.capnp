# A schema as a Cap'n Proto user may already have one, with every construct
# capnpc-weft must accept: generics (interfaces, structs, implicit method
# parameters, a branded superclass), capabilities (skipped with a warning),
# C++ keywords and $Cxx.name renames, interfaces nested in structs, a diamond
# across Bazel packages, streaming methods. tests/schemas/BUILD.bazel builds
# it; torture_test.cc serves it; skip_warning_test.sh checks the warnings.
@0xe796d18813321bcb;

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
using Base = import "/tests/schemas/base/base.capnp";
$Cxx.namespace("torture");

interface Callback {
  call @0 () -> ();
}

struct Holder {
  name @0 :Text;
  inner :group {
    callbacks @1 :List(Callback);
  }
}

# The served interface: a diamond over Base.Root (Left and Right, from
# another package), with one method of every kind.
interface Torture extends(Base.Left, Base.Right) {
  delete @0 (class :Text, new :Bool, this :Int32) -> (namespace :Text);
  # C++ keywords as the method and its params and results.
  return @1 (void :UInt32, options :UInt32) -> (int :UInt32);
  # More keywords, and a param named like the stub's own `options`.
  original @2 (value :Int32 $Cxx.name("renamedValue")) -> (value :Int32) $Cxx.name("renamed");
  # $Cxx.name on a method and on a param.

  swap @3 (pair :Base.Pair(Text, Data)) -> (pair :Base.Pair(Data, Text));
  # A generic struct from another file, branded, as a param and a result.
  pairUp @4 Base.Pair(Text, Text) -> Base.Pair(Text, Text);
  # A branded generic struct as the whole params and results.
  echo @5 [U] (value :U) -> (value :U);
  # An implicit method parameter: a template on the stub, AnyPointer on the
  # worker.

  push @6 (seq :UInt64, chunk :Data) -> stream;
  # A streaming method.

  watch @7 (cb :Callback) -> ();
  # Skipped: a capability param.
  lookup @8 () -> (cb :Callback);
  # Skipped: a capability result.
  hold @9 (holder :Holder) -> ();
  # Skipped: a capability deep inside a struct (group, list).
  raw @10 (cap :Capability) -> ();
  # Skipped: the Capability type.
  private @11 () -> () $Weft.skip;
  # Skipped on purpose: no warning.
  ping2 @12 () -> () $Cxx.name("left");
  # Skipped: its C++ name is Base.Left's `left`.
}

# A generic interface: weft::Stub<Box<T>> for any brand that is no
# capability.
interface Box(T) {
  get @0 () -> (value :T);
  put @1 (value :T) -> (size :UInt32);
  pair @2 (p :Base.Pair(T, Text)) -> (p :Base.Pair(Text, T));
  count @3 () -> (n :UInt64);
  # All-scalar params in a generic interface: a flat form.
}

# A branded superclass: Box's methods with T = Text.
interface TextBox extends(Box(Text)) {
  clear @0 () -> ();
}

# An interface $Cxx.name renames.
interface Original $Cxx.name("Renamed") {
  hello @0 (name :Text) -> (greeting :Text);
}

struct Level1 {
  struct Level2 {
    struct Level3 {
      # Nested three structs deep.
      interface Deep {
        down @0 (depth :UInt8) -> (depth :UInt8);
      }
    }
  }
}

# Generic scopes whose interfaces C++ cannot specialize weft::Stub for (the
# enclosing parameter is not deducible): skipped with a warning.
struct Outer(T) {
  interface Inner {
    get @0 () -> (value :T);
  }
}

interface Skipped $Weft.skip {
  nothing @0 () -> ();
}
