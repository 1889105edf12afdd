# The schema the capnpc-weft golden and traits tests are generated from. Each
# declaration exercises one feature of the generator; see traits_test.cc.
@0xe6d83f4a620f4fde;

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
using Common = import "/tests/codegen/common.capnp";
$Cxx.namespace("weft_test::shapes");

enum Unit {
  millimeters @0;
  inches @1;
}

struct Point {
  x @0 :Float64;
  y @1 :Float64;
}

# An explicit params struct whose fields are all flat: gets a flat form.
struct Size {
  width @0 :UInt32;
  height @1 :UInt32;
}

# An explicit params struct with a union and a group: builder form only.
struct Filter {
  union {
    all @0 :Void;
    byUnit @1 :Unit;
    byName @2 :Text;
  }
  window :group {
    from @3 :Point;
    to @4 :Point;
  }
}

# Something with a name.
#
# The root of the diamond: ColoredShape reaches it through Shape and Colored.
interface Named {
  name @0 () -> (name :Text);
  # The current name (no params: a flat form without arguments).

  rename @1 (name :Text, reason :Text) -> ();
  # Renames the thing (no results).
}

# A closed 2-D shape.
interface Shape extends(Named, Common.Pingable) {
  area @0 (unit :Unit) -> (value :Float64);
  # The area in `unit` squared.

  translate @1 (by :Point) -> (at :Point);
  # Moves the shape; struct params have no flat form.

  scale @2 (factor :Float64, label :Text, blob :Data, flag :Bool, marker :Void,
            small :Int8, big :UInt64, ratio :Float32, mode :Unit, tint :Common.Color)
      -> (done :Bool);
  # Every flat kind of param at once (`marker` is Void: no argument).

  outline @3 (points :List(Point)) -> (length :Float64) $Weft.timeoutMs(250);
  # Lists have no flat form. Times out after 250 ms by default.

  countSides @4 (limit :UInt64) -> (sides :UInt64) $Weft.abortable $Weft.timeoutMs(500);
  # Long-running: abortable, 500 ms default deadline.
}

interface Colored extends(Named) {
  color @0 () -> (color :Common.Color);
  paint @1 (color :Common.Color, options :Common.RenderOptions) -> ();
}

# Both a shape and colored; Named is listed once.
interface ColoredShape extends(Shape, Colored) {
  resize @0 Size -> Size;
  # Explicit struct params and results.

  select @1 Filter -> (count :UInt32);
  # Explicit params with a union and a group.

  render @2 Common.RenderOptions -> (image :Data) $Weft.abortable;
  # Explicit params from another file.
}

# No methods at all.
interface Marker {}

interface Marked extends(Marker) {
  mark @0 (options :UInt32, fill :Bool) -> ();
  # Argument names that clash with the stub's own parameters.
}

# C++ keywords as method and param names, and a $Cxx.name rename.
interface Keywords {
  delete @0 (class :Text, new :Bool, this :Int32) -> ();
  call @1 () -> ();
  original @2 (value :Int32) -> (value :Int32) $Cxx.name("renamed");
}

struct Canvas {
  # An interface nested in a struct.
  interface Layer {
    draw @0 (z :Int32) -> ();
  }

  struct Inner {
    # Nested two levels deep.
    interface Brush {
      stroke @0 (width :Float32) -> ();
    }
  }
}
