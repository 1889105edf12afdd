# The part of the torture schema that lives in another Bazel package and
# another C++ namespace: a generic struct used in torture.capnp's
# signatures, and the shared base of its diamond.
@0xe52b84deaad8a633;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("torture::base");

struct Pair(A, B) {
  first @0 :A;
  second @1 :B;
}

enum Level {
  low @0;
  high @1;
}

# The shared base of the diamond (Left and Right both extend it).
interface Root {
  ping @0 (token :UInt64) -> (token :UInt64);
  # Echoes the token.
}

interface Left extends(Root) {
  left @0 (level :Level) -> (level :Level);
}

interface Right extends(Root) {
  right @0 (text :Text) -> (length :UInt32);
}
