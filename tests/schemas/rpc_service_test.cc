// weft::RpcService<I> (x.weft-rpc.h) for the torture and shapes schemas, at
// compile time: for every interface x.weft.h has a Stub for, generic brands
// and interfaces from other files included, it is a final I::Server (what
// weft::RpcServer hands out as the bootstrap capability) made from an
// internal::RpcTarget, explicitly; skipped interfaces have none. The
// overrides of the non-generic specializations are compiled here as part of
// their class; nothing is constructed, which would emit the vtable, whose
// overrides call RpcTarget::Call (runtime/rpc_server.cc).
#include <type_traits>

#include "gtest/gtest.h"
#include "tests/codegen/common.weft-rpc.h"
#include "tests/codegen/shapes.weft-rpc.h"
#include "tests/schemas/plain.weft-rpc.h"
#include "tests/schemas/torture.weft-rpc.h"
#include "tests/schemas/wide.weft-rpc.h"

namespace {

using ::weft::RpcService;
using ::weft::internal::RpcTarget;

template <typename I>
constexpr bool kServes =
    std::is_base_of_v<typename I::Server, RpcService<I>>&& std::is_final_v<RpcService<I>>&&
        std::is_constructible_v<RpcService<I>, RpcTarget> &&
    !std::is_convertible_v<RpcTarget, RpcService<I>> &&
    std::is_same_v<typename RpcService<I>::Traits, weft::InterfaceTraits<I>>;

// torture.capnp: keywords, renames, a diamond across packages, an implicit
// method parameter, a stream, skipped methods, a branded superclass.
static_assert(kServes<torture::Callback>);
static_assert(kServes<torture::Torture>);
static_assert(kServes<torture::Box<capnp::Text>>);
static_assert(kServes<torture::Box<capnp::Data>>);
static_assert(kServes<torture::Box<torture::base::Pair<capnp::Text, capnp::Data>>>);
static_assert(kServes<torture::TextBox>);
static_assert(kServes<torture::Renamed>);
static_assert(kServes<torture::Level1::Level2::Level3::Deep>);
static_assert(kServes<torture::wide::Wide>);
// The diamond's shared base is one Server, reached through both sides.
static_assert(std::is_base_of_v<torture::base::Root::Server, RpcService<torture::Torture>>);
static_assert(std::is_base_of_v<torture::Box<capnp::Text>::Server, RpcService<torture::TextBox>>);

// shapes.capnp (and the common.capnp it extends from).
namespace shapes = ::weft_test::shapes;
static_assert(kServes<weft_test::common::Pingable>);
static_assert(kServes<shapes::Named>);
static_assert(kServes<shapes::Shape>);
static_assert(kServes<shapes::Colored>);
static_assert(kServes<shapes::ColoredShape>);
static_assert(kServes<shapes::Marker>);
static_assert(kServes<shapes::Marked>);
static_assert(kServes<shapes::Keywords>);
static_assert(kServes<shapes::Canvas::Layer>);
static_assert(kServes<shapes::Canvas::Inner::Brush>);

// Interfaces without a Stub have no RpcService either: the primary template
// is declared only.
template <typename T>
concept Complete = requires {
  sizeof(T);
};
static_assert(!Complete<RpcService<torture::Skipped>>);
static_assert(!Complete<RpcService<torture::Outer<capnp::Text>::Inner>>);

TEST(RpcService, CompileTimeChecksHold) { SUCCEED(); }

}  // namespace
