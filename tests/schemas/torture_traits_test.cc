// What capnpc-weft generates for the torture schema, at compile time: the
// methods it skipped (capabilities, $Weft.skip, a clashing C++ name) are
// absent from the stub and the skeleton, the supported ones present, and
// the generic and streaming shapes are what the docs say.
#include <concepts>
#include <string_view>
#include <type_traits>

#include "gtest/gtest.h"
#include "tests/schemas/plain.weft.h"
#include "tests/schemas/torture.weft.h"

namespace {

using ::weft::InterfaceTraits;
using ::weft::Skeleton;
using ::weft::Stub;
using TortureStub = Stub<torture::Torture>;
using TortureSkeleton = Skeleton<torture::Torture>;

constexpr auto kAny = [](auto) {};

// Skipped: no stub form, no Call type on the skeleton.
template <typename S>
concept HasWatch = requires(S s) {
  s.watch(kAny);
};
template <typename S>
concept HasLookup = requires(S s) {
  s.lookup(kAny);
};
template <typename S>
concept HasHold = requires(S s) {
  s.hold(kAny);
};
template <typename S>
concept HasRaw = requires(S s) {
  s.raw(kAny);
};
template <typename S>
concept HasPrivate = requires(S s) {
  s.private_(kAny);
};
template <typename K>
concept HasWatchCall = requires {
  typename K::WatchCall;
};
template <typename K>
concept HasHoldCall = requires {
  typename K::HoldCall;
};
template <typename K>
concept HasPrivateCall = requires {
  typename K::PrivateCall;
};
static_assert(!HasWatch<TortureStub> && !HasLookup<TortureStub> && !HasHold<TortureStub>);
static_assert(!HasRaw<TortureStub> && !HasPrivate<TortureStub>);
static_assert(!HasWatchCall<TortureSkeleton> && !HasHoldCall<TortureSkeleton>);
static_assert(!HasPrivateCall<TortureSkeleton>);

// Served: own (7), ping2 as `left`, Root.ping, Right.right; Left.left lost
// its name to ping2.
using TortureTraits = InterfaceTraits<torture::Torture>;
static_assert(TortureTraits::kMethodCount == 10);
static_assert(std::string_view(TortureTraits::kMethods[7].name) == "ping2");
static_assert(std::string_view(TortureTraits::kMethods[8].name) == "ping");
static_assert(std::string_view(TortureTraits::kMethods[8].interface_name) == "torture::base::Root");
static_assert(std::string_view(TortureTraits::kMethods[9].name) == "right");

// Keywords and renames.
template <typename S>
concept HasKeywordForms = requires(S s) {
  s.delete_("c", true, 1);
  s.return_(1u, 2u);
  s.renamed(3);
};
static_assert(HasKeywordForms<TortureStub>);

// The implicit method parameter: a template on the stub, AnyPointer on the
// worker.
static_assert(std::is_same_v<TortureStub::EchoParams<capnp::Text>,
                             torture::Torture::EchoParams<capnp::Text>>);
static_assert(
    std::is_same_v<TortureStub::EchoParams<>, torture::Torture::EchoParams<capnp::AnyPointer>>);
static_assert(std::is_same_v<TortureSkeleton::EchoCall,
                             weft::Call<torture::Torture::EchoParams<capnp::AnyPointer>,
                                        torture::Torture::EchoResults<capnp::AnyPointer>>>);

// Generics: one partial specialization for every brand.
using TextBox = Skeleton<torture::Box<capnp::Text>>;
static_assert(std::is_same_v<TextBox::PutCall, weft::Call<torture::Box<capnp::Text>::PutParams,
                                                          torture::Box<capnp::Text>::PutResults>>);
static_assert(std::is_same_v<Stub<torture::Box<capnp::Data>>::PairParams,
                             torture::Box<capnp::Data>::PairParams>);
static_assert(InterfaceTraits<torture::Box<capnp::Text>>::kTypeId ==
              InterfaceTraits<torture::Box<capnp::Data>>::kTypeId);
// A brand that binds a capability is refused by a static_assert in the
// traits; the predicate it uses:
static_assert(!weft::internal::kCarriesNoCapability<torture::Callback>);
static_assert(!weft::internal::kCarriesNoCapability<capnp::Capability>);
static_assert(weft::internal::kCarriesNoCapability<capnp::AnyPointer>);
static_assert(weft::internal::kCarriesNoCapability<capnp::Text>);

// The branded superclass: Box(Text)'s methods with T = Text.
static_assert(std::is_same_v<Skeleton<torture::TextBox>::GetCall,
                             weft::Call<torture::Box<capnp::Text>::GetParams,
                                        torture::Box<capnp::Text>::GetResults>>);
static_assert(InterfaceTraits<torture::TextBox>::kMethodCount == 5);

// $Cxx.name on an interface, and three structs deep.
static_assert(std::string_view(InterfaceTraits<torture::Renamed>::kName) == "torture::Renamed");
static_assert(InterfaceTraits<torture::Level1::Level2::Level3::Deep>::kMethodCount == 1);

// Skipped interfaces have no traits: $Weft.skip, and one nested in a
// generic struct.
template <typename I>
concept HasTraits = requires {
  InterfaceTraits<I>::kMethodCount;
};
static_assert(!HasTraits<torture::Skipped>);
static_assert(!HasTraits<torture::Outer<capnp::Text>::Inner>);
static_assert(HasTraits<torture::Torture>);

TEST(TortureTraits, CompileTimeChecksHold) { SUCCEED(); }

}  // namespace
