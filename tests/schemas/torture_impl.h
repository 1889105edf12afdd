// Skeletons for every interface of the torture schema (torture.capnp,
// wide.capnp) that weft serves: each method answers something the test can
// check was computed from its params, by this worker.
#ifndef WEFT_TESTS_SCHEMAS_TORTURE_IMPL_H_
#define WEFT_TESTS_SCHEMAS_TORTURE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capnp/message.h"
#include "tests/schemas/torture.weft.h"
#include "tests/schemas/wide.weft.h"

namespace weft_test {

class TortureImpl final : public weft::Skeleton<torture::Torture> {
 public:
  // With `gate` (not owned, outlives this), push waits until it is true:
  // a worker slower than its caller.
  explicit TortureImpl(const std::atomic<bool>* gate = nullptr) : gate_(gate) {}

  absl::Status delete_(DeleteCall& call) override {
    auto p = call.params();
    call.results().setNamespace(
        absl::StrCat(p.getClass().cStr(), p.getNew() ? "+" : "-", p.getThis()));
    return absl::OkStatus();
  }
  absl::Status return_(ReturnCall& call) override {
    call.results().setInt(call.params().getVoid() * 1000 + call.params().getOptions());
    return absl::OkStatus();
  }
  absl::Status renamed(RenamedCall& call) override {
    call.results().setValue(-call.params().getRenamedValue());
    return absl::OkStatus();
  }
  absl::Status swap(SwapCall& call) override {
    auto in = call.params().getPair();
    auto out = call.results().initPair();
    out.setFirst(in.getSecond());
    out.setSecond(in.getFirst());
    return absl::OkStatus();
  }
  absl::Status pairUp(PairUpCall& call) override {
    call.results().setFirst(call.params().getSecond());
    call.results().setSecond(call.params().getFirst());
    return absl::OkStatus();
  }
  absl::Status echo(EchoCall& call) override {
    // U is AnyPointer here: whatever the caller sent comes back as is.
    call.results().getValue().set(call.params().getValue());
    return absl::OkStatus();
  }
  absl::Status push(PushCall& call) override {
    // Streamed calls arrive in order: a gap is an error the host sees.
    // Acquire: pairs with the test's release store that opens the gate.
    while (gate_ != nullptr && !gate_->load(std::memory_order_acquire)) std::this_thread::yield();
    const uint64_t seq = call.params().getSeq();
    if (seq != next_seq_) {
      return absl::DataLossError(absl::StrCat("push ", seq, " arrived, expected ", next_seq_));
    }
    if (call.params().getChunk().size() == 1 && call.params().getChunk()[0] == 0xff) {
      ++next_seq_;
      return absl::InvalidArgumentError(absl::StrCat("push ", seq, " refused"));
    }
    ++next_seq_;
    return absl::OkStatus();
  }
  // Torture.ping2, $Cxx.name("left"): it took the name, so Base.Left's own
  // `left` is the one skipped.
  absl::Status left(LeftCall& call) override {
    (void)call;
    return absl::OkStatus();
  }
  absl::Status ping(PingCall& call) override {
    call.results().setToken(call.params().getToken() + 1);
    return absl::OkStatus();
  }
  absl::Status right(RightCall& call) override {
    call.results().setLength(call.params().getText().size());
    return absl::OkStatus();
  }

 private:
  const std::atomic<bool>* gate_;
  uint64_t next_seq_ = 0;
};

// One skeleton for every brand of the generic Box: it stores what put gives
// it (T's Builder and Reader are whatever the brand says).
template <typename T>
class BoxImpl final : public weft::Skeleton<torture::Box<T>> {
  using Base = weft::Skeleton<torture::Box<T>>;

 public:
  absl::Status get(typename Base::GetCall& call) override {
    if (value_->getRoot<capnp::AnyPointer>().isNull()) {
      return absl::NotFoundError("nothing put yet");
    }
    call.results().setValue(value_->getRoot<capnp::AnyPointer>().template getAs<T>());
    return absl::OkStatus();
  }
  absl::Status put(typename Base::PutCall& call) override {
    value_->getRoot<capnp::AnyPointer>().template setAs<T>(call.params().getValue());
    ++count_;
    call.results().setSize(
        static_cast<uint32_t>(call.params().getValue().size()));  // Text and Data have size()
    return absl::OkStatus();
  }
  absl::Status pair(typename Base::PairCall& call) override {
    auto out = call.results().initP();
    out.setFirst(call.params().getP().getSecond());
    out.setSecond(call.params().getP().getFirst());
    return absl::OkStatus();
  }
  absl::Status count(typename Base::CountCall& call) override {
    call.results().setN(count_);
    return absl::OkStatus();
  }

 private:
  // Behind a pointer: the builder's destructor may throw, a skeleton's not.
  std::unique_ptr<capnp::MallocMessageBuilder> value_ =
      std::make_unique<capnp::MallocMessageBuilder>();
  uint64_t count_ = 0;
};

class RenamedImpl final : public weft::Skeleton<torture::Renamed> {
 public:
  absl::Status hello(HelloCall& call) override {
    call.results().setGreeting(absl::StrCat("hello, ", call.params().getName().cStr()));
    return absl::OkStatus();
  }
};

class DeepImpl final : public weft::Skeleton<torture::Level1::Level2::Level3::Deep> {
 public:
  absl::Status down(DownCall& call) override {
    call.results().setDepth(call.params().getDepth() + 1);
    return absl::OkStatus();
  }
};

// Method mN answers x + N: the dispatch reached the Nth method.
class WideImpl final : public weft::Skeleton<torture::wide::Wide> {
 public:
#define WEFT_WIDE_METHOD(n)                        \
  absl::Status m##n(M##n##Call& call) override {   \
    call.results().setY(call.params().getX() + n); \
    return absl::OkStatus();                       \
  }
#define WEFT_WIDE_TEN(d) \
  WEFT_WIDE_METHOD(d##0) \
  WEFT_WIDE_METHOD(d##1) \
  WEFT_WIDE_METHOD(d##2) \
  WEFT_WIDE_METHOD(d##3) \
  WEFT_WIDE_METHOD(d##4) \
  WEFT_WIDE_METHOD(d##5) \
  WEFT_WIDE_METHOD(d##6) \
  WEFT_WIDE_METHOD(d##7) \
  WEFT_WIDE_METHOD(d##8) \
  WEFT_WIDE_METHOD(d##9)
  // m0..m9, then m10..m209.
  WEFT_WIDE_METHOD(0)
  WEFT_WIDE_METHOD(1)
  WEFT_WIDE_METHOD(2)
  WEFT_WIDE_METHOD(3)
  WEFT_WIDE_METHOD(4)
  WEFT_WIDE_METHOD(5)
  WEFT_WIDE_METHOD(6)
  WEFT_WIDE_METHOD(7)
  WEFT_WIDE_METHOD(8)
  WEFT_WIDE_METHOD(9)
  WEFT_WIDE_TEN(1)
  WEFT_WIDE_TEN(2)
  WEFT_WIDE_TEN(3)
  WEFT_WIDE_TEN(4)
  WEFT_WIDE_TEN(5)
  WEFT_WIDE_TEN(6)
  WEFT_WIDE_TEN(7)
  WEFT_WIDE_TEN(8)
  WEFT_WIDE_TEN(9)
  WEFT_WIDE_TEN(10)
  WEFT_WIDE_TEN(11)
  WEFT_WIDE_TEN(12)
  WEFT_WIDE_TEN(13)
  WEFT_WIDE_TEN(14)
  WEFT_WIDE_TEN(15)
  WEFT_WIDE_TEN(16)
  WEFT_WIDE_TEN(17)
  WEFT_WIDE_TEN(18)
  WEFT_WIDE_TEN(19)
  WEFT_WIDE_TEN(20)
#undef WEFT_WIDE_TEN
#undef WEFT_WIDE_METHOD
};

class TextBoxImpl final : public weft::Skeleton<torture::TextBox> {
 public:
  absl::Status clear(ClearCall& call) override {
    (void)call;
    box_.reset();
    return absl::OkStatus();
  }
  absl::Status get(GetCall& call) override {
    if (!box_) return absl::NotFoundError("cleared");
    call.results().setValue(*box_);
    return absl::OkStatus();
  }
  absl::Status put(PutCall& call) override {
    box_ = call.params().getValue().cStr();
    call.results().setSize(box_->size());
    return absl::OkStatus();
  }
  absl::Status pair(PairCall& call) override {
    call.results().initP().setFirst(call.params().getP().getSecond());
    return absl::OkStatus();
  }
  absl::Status count(CountCall& call) override {
    call.results().setN(box_ ? 1 : 0);
    return absl::OkStatus();
  }

 private:
  std::optional<std::string> box_;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_SCHEMAS_TORTURE_IMPL_H_
