// What capnpc-weft generates for tests/codegen/shapes.capnp, checked at
// compile time: InterfaceTraits metadata (method order across `extends`,
// annotations), which stub forms exist, and that a skeleton with every
// method implemented is a complete (non-abstract) class.
//
// At run time: the skeletons' dispatch, served in process from heap
// messages (no pool, no shared memory: that is the end-to-end tests' job),
// and an unbound stub.
#include <atomic>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "capnp/message.h"
#include "gtest/gtest.h"
#include "tests/codegen/shapes.weft.h"

namespace weft_test {
// Outside the anonymous namespace: these are only named in unevaluated
// operands, which would leave internal-linkage variables unused.
namespace stub_args {

// Arguments, only ever used unevaluated.
extern const ::capnp::Text::Reader kText;
extern const ::capnp::Data::Reader kBlob;
extern const shapes::Point::Reader kPoint;

// Fill callables for builder forms.
inline constexpr auto kFillArea = [](shapes::Shape::AreaParams::Builder p) {
  p.setUnit(shapes::Unit::INCHES);
};
inline constexpr auto kFillTranslate = [](auto p) { p.initBy().setX(1); };
inline constexpr auto kFillOutline = [](auto p) { p.initPoints(3); };
inline constexpr auto kFillNothing = [](auto) {};
inline constexpr auto kFillFilter = [](shapes::Filter::Builder f) { f.setByName("x"); };
inline constexpr auto kFillSize = [](auto p) { p.setWidth(1); };
inline constexpr auto kFillPaint = [](auto p) { p.initOptions().setDpi(300); };
inline constexpr auto kTakesInt = [](int) {};
inline constexpr auto kTakesPoint = [](shapes::Point::Builder) {};

}  // namespace stub_args

namespace {

namespace shapes = ::weft_test::shapes;
namespace common = ::weft_test::common;

using ::weft::InterfaceTraits;
using ::weft::MethodInfo;
using ::weft::Skeleton;
using ::weft::Stub;

constexpr bool Eq(const char* a, std::string_view b) { return std::string_view(a) == b; }

constexpr bool SameMethod(const MethodInfo& m, uint32_t index, std::string_view name,
                          std::string_view interface_name, uint64_t interface_id,
                          uint16_t ordinal) {
  return m.index == index && Eq(m.name, name) && Eq(m.interface_name, interface_name) &&
         m.interface_id == interface_id && m.ordinal == ordinal;
}

template <typename I>
constexpr uint64_t Id() {
  return capnp::typeId<I>();
}

// ---- InterfaceTraits

using NamedTraits = InterfaceTraits<shapes::Named>;
static_assert(Eq(NamedTraits::kName, "weft_test::shapes::Named"));
static_assert(NamedTraits::kTypeId == Id<shapes::Named>());
static_assert(NamedTraits::kMethodCount == 2);
static_assert(SameMethod(NamedTraits::kMethods[0], 0, "name", "weft_test::shapes::Named",
                         Id<shapes::Named>(), 0));
static_assert(SameMethod(NamedTraits::kMethods[1], 1, "rename", "weft_test::shapes::Named",
                         Id<shapes::Named>(), 1));

// Own methods by ordinal, then Named's, then Pingable's (another file and
// namespace), in `extends` order.
using ShapeTraits = InterfaceTraits<shapes::Shape>;
static_assert(ShapeTraits::kMethodCount == 8);
static_assert(SameMethod(ShapeTraits::kMethods[0], 0, "area", "weft_test::shapes::Shape",
                         Id<shapes::Shape>(), 0));
static_assert(SameMethod(ShapeTraits::kMethods[4], 4, "countSides", "weft_test::shapes::Shape",
                         Id<shapes::Shape>(), 4));
static_assert(SameMethod(ShapeTraits::kMethods[5], 5, "name", "weft_test::shapes::Named",
                         Id<shapes::Named>(), 0));
static_assert(SameMethod(ShapeTraits::kMethods[6], 6, "rename", "weft_test::shapes::Named",
                         Id<shapes::Named>(), 1));
static_assert(SameMethod(ShapeTraits::kMethods[7], 7, "ping", "weft_test::common::Pingable",
                         Id<common::Pingable>(), 0));

// Annotations: $Weft.timeoutMs alone, both, and neither.
static_assert(!ShapeTraits::kMethods[3].abortable && ShapeTraits::kMethods[3].timeout_ms == 250);
static_assert(ShapeTraits::kMethods[4].abortable && ShapeTraits::kMethods[4].timeout_ms == 500);
static_assert(!ShapeTraits::kMethods[0].abortable && ShapeTraits::kMethods[0].timeout_ms == 0);

// The diamond: Shape's tree, then Colored's without Named a second time.
using ColoredShapeTraits = InterfaceTraits<shapes::ColoredShape>;
static_assert(ColoredShapeTraits::kMethodCount == 13);
static_assert(SameMethod(ColoredShapeTraits::kMethods[0], 0, "resize",
                         "weft_test::shapes::ColoredShape", Id<shapes::ColoredShape>(), 0));
static_assert(ColoredShapeTraits::kMethods[2].abortable);  // render: abortable, no timeout
static_assert(ColoredShapeTraits::kMethods[2].timeout_ms == 0);
static_assert(SameMethod(ColoredShapeTraits::kMethods[3], 3, "area", "weft_test::shapes::Shape",
                         Id<shapes::Shape>(), 0));
static_assert(ColoredShapeTraits::kMethods[7].abortable);  // countSides, inherited
static_assert(ColoredShapeTraits::kMethods[7].timeout_ms == 500);
static_assert(SameMethod(ColoredShapeTraits::kMethods[8], 8, "name", "weft_test::shapes::Named",
                         Id<shapes::Named>(), 0));
static_assert(SameMethod(ColoredShapeTraits::kMethods[10], 10, "ping",
                         "weft_test::common::Pingable", Id<common::Pingable>(), 0));
static_assert(SameMethod(ColoredShapeTraits::kMethods[11], 11, "color",
                         "weft_test::shapes::Colored", Id<shapes::Colored>(), 0));
static_assert(SameMethod(ColoredShapeTraits::kMethods[12], 12, "paint",
                         "weft_test::shapes::Colored", Id<shapes::Colored>(), 1));

constexpr bool DenseIndices() {
  for (uint32_t i = 0; i < ColoredShapeTraits::kMethodCount; ++i) {
    if (ColoredShapeTraits::kMethods[i].index != i) return false;
  }
  return true;
}
static_assert(DenseIndices());

static_assert(InterfaceTraits<shapes::Marker>::kMethodCount == 0);
static_assert(InterfaceTraits<shapes::Marker>::kMethods.empty());
static_assert(InterfaceTraits<shapes::Marked>::kMethodCount == 1);  // Marker adds nothing

// Interfaces nested in structs, named through the scope chain.
static_assert(Eq(InterfaceTraits<shapes::Canvas::Layer>::kName,
                 "weft_test::shapes::Canvas::Layer"));
static_assert(Eq(InterfaceTraits<shapes::Canvas::Inner::Brush>::kName,
                 "weft_test::shapes::Canvas::Inner::Brush"));
static_assert(InterfaceTraits<shapes::Canvas::Inner::Brush>::kTypeId ==
              Id<shapes::Canvas::Inner::Brush>());

// Keyword and $Cxx.name methods keep their schema names in the metadata.
static_assert(Eq(InterfaceTraits<shapes::Keywords>::kMethods[0].name, "delete"));
static_assert(Eq(InterfaceTraits<shapes::Keywords>::kMethods[2].name, "original"));

// ---- Skeleton: Call types and the generated overrides

using ShapeSkeleton = Skeleton<shapes::Shape>;
static_assert(std::is_base_of_v<weft::internal::SkeletonBase, ShapeSkeleton>);
static_assert(std::is_same_v<ShapeSkeleton::AreaCall,
                             weft::Call<shapes::Shape::AreaParams, shapes::Shape::AreaResults>>);
static_assert(
    std::is_same_v<ShapeSkeleton::PingCall,
                   weft::Call<common::Pingable::PingParams, common::Pingable::PingResults>>);
static_assert(std::is_same_v<Skeleton<shapes::ColoredShape>::ResizeCall,
                             weft::Call<shapes::Size, shapes::Size>>);
static_assert(
    std::is_same_v<Skeleton<shapes::ColoredShape>::RenderCall,
                   weft::Call<common::RenderOptions, shapes::ColoredShape::RenderResults>>);
static_assert(std::is_abstract_v<ShapeSkeleton>);

class ShapeImpl final : public Skeleton<shapes::Shape> {
 public:
  absl::Status area(AreaCall& call) override {
    call.results().setValue(call.params().getUnit() == shapes::Unit::INCHES ? 1.0 : 25.4);
    return absl::OkStatus();
  }
  absl::Status translate(TranslateCall& call) override {
    call.results().setAt(call.params().getBy());
    return absl::OkStatus();
  }
  absl::Status scale(ScaleCall& call) override {
    call.results().setDone(call.params().getFlag());
    return absl::OkStatus();
  }
  absl::Status outline(OutlineCall& call) override {
    call.results().setLength(call.params().getPoints().size());
    return absl::OkStatus();
  }
  absl::Status countSides(CountSidesCall& call) override {
    uint64_t sides = 0;
    while (sides < call.params().getLimit() && !call.aborted()) ++sides;
    call.results().setSides(sides);
    return absl::OkStatus();
  }
  absl::Status name(NameCall& call) override {
    call.results().setName("square");
    return absl::OkStatus();
  }
  absl::Status rename(RenameCall& call) override {
    (void)call.params().getReason();
    return absl::OkStatus();
  }
  absl::Status ping(PingCall& call) override {
    (void)call;
    return absl::OkStatus();
  }
};

// Implements the 13 methods of the diamond, each exactly once.
class ColoredShapeImpl final : public Skeleton<shapes::ColoredShape> {
 public:
  absl::Status resize(ResizeCall& call) override {
    call.results().setWidth(call.params().getHeight());
    return absl::OkStatus();
  }
  absl::Status select(SelectCall& call) override {
    shapes::Filter::Reader filter = call.params();
    call.results().setCount(filter.isAll() ? 2 : 1);
    (void)filter.getWindow().getFrom().getX();
    return absl::OkStatus();
  }
  absl::Status render(RenderCall& call) override {
    (void)call.params().getDpi();
    return absl::OkStatus();
  }
  absl::Status area(AreaCall&) override { return absl::OkStatus(); }
  absl::Status translate(TranslateCall&) override { return absl::OkStatus(); }
  absl::Status scale(ScaleCall&) override { return absl::OkStatus(); }
  absl::Status outline(OutlineCall&) override { return absl::OkStatus(); }
  absl::Status countSides(CountSidesCall&) override { return absl::OkStatus(); }
  absl::Status name(NameCall&) override { return absl::OkStatus(); }
  absl::Status rename(RenameCall&) override { return absl::OkStatus(); }
  absl::Status ping(PingCall&) override { return absl::OkStatus(); }
  absl::Status color(ColorCall& call) override {
    call.results().setColor(common::Color::BLUE);
    return absl::OkStatus();
  }
  absl::Status paint(PaintCall&) override { return absl::OkStatus(); }
};

class MarkerImpl final : public Skeleton<shapes::Marker> {};

class KeywordsImpl final : public Skeleton<shapes::Keywords> {
 public:
  absl::Status delete_(DeleteCall& call) override {
    (void)call.params().getClass();
    return absl::OkStatus();
  }
  absl::Status call(CallCall& call) override {
    (void)call;
    return absl::OkStatus();
  }
  absl::Status renamed(RenamedCall& call) override {
    call.results().setValue(call.params().getValue());
    return absl::OkStatus();
  }
};

class LayerImpl final : public Skeleton<shapes::Canvas::Layer> {
 public:
  absl::Status draw(DrawCall&) override { return absl::OkStatus(); }
};

class BrushImpl final : public Skeleton<shapes::Canvas::Inner::Brush> {
 public:
  absl::Status stroke(StrokeCall&) override { return absl::OkStatus(); }
};

// ---- Stub: builder forms always, flat forms where every param is flat

using ShapeStub = Stub<shapes::Shape>;
using ColoredShapeStub = Stub<shapes::ColoredShape>;
using weft::CallOptions;
using weft::Future;
using namespace stub_args;  // NOLINT: the fixtures above, in every check below

static_assert(std::is_base_of_v<weft::internal::StubBase, ShapeStub>);
static_assert(std::is_default_constructible_v<ShapeStub>);  // StubBase's unbound stub

// True when `expr` (using `s`, a StubType) compiles. Checked inside a
// template so that an ill-formed `expr` makes this false instead of failing
// the build.
#define STUB_ACCEPTS(StubType, expr) \
  ([]<typename S>() {                \
    return requires(S s) { expr; };  \
  }.template operator()<StubType>())

// The type `expr` returns (for expressions known to compile).
#define STUB_RETURNS(StubType, expr) decltype([](StubType s) { return expr; }(StubType()))

// Builder forms, with and without options, for every kind of method.
static_assert(
    std::is_same_v<STUB_RETURNS(ShapeStub, s.area(kFillArea)), Future<shapes::Shape::AreaResults>>);
static_assert(std::is_same_v<STUB_RETURNS(ShapeStub, s.translate(kFillTranslate, CallOptions{})),
                             Future<shapes::Shape::TranslateResults>>);
static_assert(STUB_ACCEPTS(ShapeStub, s.outline(kFillOutline)));
static_assert(STUB_ACCEPTS(ShapeStub, s.ping(kFillNothing)));
static_assert(std::is_same_v<STUB_RETURNS(ColoredShapeStub, s.select(kFillFilter)),
                             Future<shapes::ColoredShape::SelectResults>>);
static_assert(
    std::is_same_v<STUB_RETURNS(ColoredShapeStub, s.resize(kFillSize)), Future<shapes::Size>>);
static_assert(STUB_ACCEPTS(ColoredShapeStub, s.paint(kFillPaint)));
// A callable that does not take the params builder is no builder form.
static_assert(!STUB_ACCEPTS(ShapeStub, s.area(kTakesInt)));
static_assert(!STUB_ACCEPTS(ShapeStub, s.area(kTakesPoint)));

// Flat forms: scalars, enums (also from another file), Text, Data; Void skipped.
static_assert(std::is_same_v<STUB_RETURNS(ShapeStub, s.area(shapes::Unit::MILLIMETERS)),
                             Future<shapes::Shape::AreaResults>>);
static_assert(STUB_ACCEPTS(ShapeStub, s.area(shapes::Unit::INCHES,
                                             CallOptions{.timeout = absl::Milliseconds(5)})));
static_assert(STUB_ACCEPTS(ShapeStub,
                           s.scale(2.0, "label", kBlob, true, int8_t{-1}, uint64_t{1} << 40, 0.5f,
                                   shapes::Unit::INCHES, common::Color::RED)));
static_assert(STUB_ACCEPTS(ShapeStub, s.countSides(1'000'000)));
static_assert(STUB_ACCEPTS(ShapeStub, s.rename("new name", kText)));
static_assert(STUB_ACCEPTS(ShapeStub, s.name()));  // no params: no arguments
static_assert(STUB_ACCEPTS(ShapeStub, s.name(CallOptions{})));
static_assert(STUB_ACCEPTS(ShapeStub, s.ping()));  // inherited from another file
// No flat form for struct or list params.
static_assert(!STUB_ACCEPTS(ShapeStub, s.translate(kPoint)));
static_assert(!STUB_ACCEPTS(ShapeStub, s.translate()));
static_assert(!STUB_ACCEPTS(ShapeStub, s.outline()));
// Wrong argument counts or types match no form.
static_assert(!STUB_ACCEPTS(ShapeStub, s.area()));
static_assert(!STUB_ACCEPTS(ShapeStub, s.area(shapes::Unit::INCHES, 3)));
static_assert(!STUB_ACCEPTS(ShapeStub, s.rename("only one")));
static_assert(!STUB_ACCEPTS(ShapeStub, s.scale(2.0)));

// Explicit params structs: flat when all fields are (Size, RenderOptions),
// builder only with a union or a group (Filter).
static_assert(
    std::is_same_v<STUB_RETURNS(ColoredShapeStub, s.resize(640u, 480u)), Future<shapes::Size>>);
static_assert(STUB_ACCEPTS(ColoredShapeStub, s.render(300u, common::Color::GREEN)));
static_assert(STUB_ACCEPTS(ColoredShapeStub, s.color()));
static_assert(STUB_ACCEPTS(ColoredShapeStub, s.area(shapes::Unit::INCHES)));  // via the diamond
static_assert(STUB_ACCEPTS(ColoredShapeStub, s.name()));
static_assert(!STUB_ACCEPTS(ColoredShapeStub, s.select()));
static_assert(!STUB_ACCEPTS(ColoredShapeStub, s.select(kText)));
static_assert(!STUB_ACCEPTS(ColoredShapeStub, s.paint(common::Color::RED)));

// Arguments named like the stub's own parameters, and C++ keywords.
static_assert(STUB_ACCEPTS(Stub<shapes::Marked>, s.mark(7u, true)));
static_assert(STUB_ACCEPTS(Stub<shapes::Marked>, s.mark(7u, true, CallOptions{})));
static_assert(STUB_ACCEPTS(Stub<shapes::Keywords>, s.delete_("class", true, 3)));
static_assert(STUB_ACCEPTS(Stub<shapes::Keywords>, s.call()));
static_assert(STUB_ACCEPTS(Stub<shapes::Keywords>, s.renamed(1)));
static_assert(STUB_ACCEPTS(Stub<shapes::Canvas::Inner::Brush>, s.stroke(1.5f)));
static_assert(STUB_ACCEPTS(Stub<shapes::Canvas::Layer>, s.draw(-1)));

// The stub's aliases name the params and results types.
static_assert(std::is_same_v<ColoredShapeStub::ResizeParams, shapes::Size>);
static_assert(std::is_same_v<ColoredShapeStub::AreaResults, shapes::Shape::AreaResults>);

TEST(GeneratedTraits, MethodTablesMatchTheSchema) {
  // The static_asserts above are the test; this repeats a few at run time so
  // a failure also shows up in the test log.
  EXPECT_EQ(ShapeTraits::kMethods[4].timeout_ms, 500u);
  EXPECT_STREQ(ColoredShapeTraits::kMethods[12].interface_name, "weft_test::shapes::Colored");
  EXPECT_EQ(InterfaceTraits<shapes::Marker>::kMethodCount, 0u);
}

TEST(GeneratedSkeleton, SkeletonsAreImplementable) {
  static_assert(!std::is_abstract_v<ShapeImpl> && std::is_default_constructible_v<ShapeImpl>);
  static_assert(!std::is_abstract_v<ColoredShapeImpl> &&
                std::is_default_constructible_v<ColoredShapeImpl>);
  static_assert(!std::is_abstract_v<MarkerImpl> && std::is_default_constructible_v<MarkerImpl>);
  static_assert(!std::is_abstract_v<KeywordsImpl> && std::is_default_constructible_v<KeywordsImpl>);
  static_assert(!std::is_abstract_v<LayerImpl> && std::is_default_constructible_v<LayerImpl>);
  static_assert(!std::is_abstract_v<BrushImpl> && std::is_default_constructible_v<BrushImpl>);

  ShapeImpl shape;
  MarkerImpl marker;
  LayerImpl layer;
  BrushImpl brush;
  weft::internal::SkeletonBase& base = shape;
  EXPECT_EQ(base.WeftInterfaceId(), Id<shapes::Shape>());
  EXPECT_EQ(base.WeftMethods().data(), ShapeTraits::kMethods.data());
  EXPECT_EQ(base.WeftMethods().size(), 8u);
  EXPECT_TRUE(marker.WeftMethods().empty());
  EXPECT_EQ(layer.WeftInterfaceId(), Id<shapes::Canvas::Layer>());
  EXPECT_EQ(brush.WeftInterfaceId(), Id<shapes::Canvas::Inner::Brush>());
}

// One call served in process: the request built in a heap message, read
// back through a reader, the results built in another heap message. This is
// what the worker loop does, minus shared memory.
template <typename Params>
class LocalCall {
 public:
  template <typename Fill>
  LocalCall(const MethodInfo& method, Fill fill, const std::atomic<uint32_t>* abort = nullptr) {
    fill(request_.initRoot<Params>());
    reader_.emplace(request_.getSegmentsForOutput());
    context_ = {&*reader_, &response_, abort, &method};
  }

  weft::internal::CallContext& context() { return context_; }
  template <typename Results>
  typename Results::Reader results() {
    return response_.getRoot<Results>().asReader();
  }

 private:
  capnp::MallocMessageBuilder request_;
  std::optional<capnp::SegmentArrayMessageReader> reader_;
  capnp::MallocMessageBuilder response_;
  weft::internal::CallContext context_{};
};

TEST(GeneratedSkeleton, DispatchesOwnAndInheritedMethodsByDenseIndex) {
  ColoredShapeImpl impl;

  // Index 0: resize, explicit struct params and results.
  LocalCall<shapes::Size> resize(ColoredShapeTraits::kMethods[0],
                                 [](shapes::Size::Builder p) { p.setHeight(7); });
  ASSERT_TRUE(impl.WeftDispatch(0, resize.context()).ok());
  EXPECT_EQ(resize.results<shapes::Size>().getWidth(), 7u);

  // Index 11: color, inherited from Colored after the whole Shape tree.
  LocalCall<shapes::Colored::ColorParams> color(ColoredShapeTraits::kMethods[11], [](auto) {});
  ASSERT_TRUE(impl.WeftDispatch(11, color.context()).ok());
  EXPECT_EQ(color.results<shapes::Colored::ColorResults>().getColor(), common::Color::BLUE);
}

TEST(GeneratedSkeleton, UnknownIndexIsInvalidArgument) {
  ColoredShapeImpl impl;
  LocalCall<shapes::Size> call(ColoredShapeTraits::kMethods[0], [](auto) {});
  EXPECT_EQ(impl.WeftDispatch(13, call.context()).code(), absl::StatusCode::kInvalidArgument);

  MarkerImpl marker;  // no methods at all
  EXPECT_EQ(marker.WeftDispatch(0, call.context()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(GeneratedSkeleton, KeywordMethodsDispatch) {
  KeywordsImpl impl;
  LocalCall<shapes::Keywords::RenamedParams> renamed(
      InterfaceTraits<shapes::Keywords>::kMethods[2],
      [](shapes::Keywords::RenamedParams::Builder p) { p.setValue(42); });
  ASSERT_TRUE(impl.WeftDispatch(2, renamed.context()).ok());
  EXPECT_EQ(renamed.results<shapes::Keywords::RenamedResults>().getValue(), 42);

  LocalCall<shapes::Keywords::CallParams> call(InterfaceTraits<shapes::Keywords>::kMethods[1],
                                               [](auto) {});
  EXPECT_TRUE(impl.WeftDispatch(1, call.context()).ok());
}

TEST(GeneratedSkeleton, AbortedIsVisibleToTheMethod) {
  ShapeImpl impl;
  const std::atomic<uint32_t> aborted{1};
  LocalCall<shapes::Shape::CountSidesParams> call(
      ShapeTraits::kMethods[4],
      [](shapes::Shape::CountSidesParams::Builder p) { p.setLimit(uint64_t{1} << 62); }, &aborted);
  ASSERT_TRUE(impl.WeftDispatch(4, call.context()).ok());
  EXPECT_EQ(call.results<shapes::Shape::CountSidesResults>().getSides(), 0u);
  EXPECT_TRUE(ShapeTraits::kMethods[4].abortable);
}

// A default-constructed stub is bound to no pool: both forms resolve
// FailedPrecondition without calling the fill callable.
TEST(GeneratedStub, UnboundStubFailsBothForms) {
  ShapeStub stub;
  EXPECT_EQ(stub.area(shapes::Unit::INCHES).Get().status().code(),
            absl::StatusCode::kFailedPrecondition);
  bool filled = false;
  auto builder = stub.scale([&](ShapeStub::ScaleParams::Builder) { filled = true; });
  EXPECT_EQ(builder.Get().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(filled);
}

}  // namespace
}  // namespace weft_test
