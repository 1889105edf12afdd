// The pool tests' skeleton, with a gate the test controls.
#ifndef WEFT_TESTS_POOL_TEST_SERVICE_IMPL_H_
#define WEFT_TESTS_POOL_TEST_SERVICE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "tests/pool/test_service.weft.h"
#include "tests/testing/checksum.h"

namespace weft_test {

// Holds `gated` calls until opened. entered() counts calls that reached it.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  int entered_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return entered_;
  }
  // Waits until `n` calls in all saw aborted() while they waited.
  void WaitAborted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return aborted_ >= n; });
  }
  int aborted_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return aborted_;
  }
  int entered() {
    std::lock_guard<std::mutex> lock(mu_);
    return entered_;
  }
  // Calls that passed the gate and returned from it.
  int left() {
    std::lock_guard<std::mutex> lock(mu_);
    return left_;
  }
  // Blocks until the gate opens, whatever happens to the call.
  void PassIgnoringAbort() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    ++left_;
  }
  // Returns true if the call was aborted while it waited.
  template <typename Aborted>
  bool Pass(Aborted aborted) {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    while (!open_) {
      if (aborted()) {
        ++aborted_;
        cv_.notify_all();
        return true;
      }
      // Aborts are flags in shared memory, not signals: look again soon.
      cv_.wait_for(lock, std::chrono::milliseconds(1));
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int entered_ = 0;
  int aborted_ = 0;
  int left_ = 0;
};

class TestServiceImpl : public weft::Skeleton<TestService> {
 public:
  TestServiceImpl(uint32_t index, Gate* gate) : index_(index), gate_(gate) {}

  absl::Status square(SquareCall& call) override {
    const int64_t v = call.params().getValue();
    call.results().setResult(v * v);
    return absl::OkStatus();
  }
  absl::Status echo(EchoCall& call) override {
    capnp::Data::Reader data = call.params().getData();
    call.results().setChecksum(Checksum(data));
    call.results().setData(data);
    return absl::OkStatus();
  }
  absl::Status fail(FailCall& call) override {
    return absl::Status(static_cast<absl::StatusCode>(call.params().getCode()),
                        call.params().getMessage().cStr());
  }
  absl::Status throwError(ThrowErrorCall& call) override {
    throw std::runtime_error(call.params().getMessage().cStr());
  }
  absl::Status makeBlob(MakeBlobCall& call) override {
    capnp::Data::Builder blob = call.results().initBlob(call.params().getSize());
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<kj::byte>(i % 251);
    return absl::OkStatus();
  }
  absl::Status gated(GatedCall& call) override {
    call.results().setWasAborted(gate_->Pass([&] { return call.aborted(); }));
    return absl::OkStatus();
  }
  absl::Status whoAmI(WhoAmICall& call) override {
    call.results().setWorker(index_);
    return absl::OkStatus();
  }
  absl::Status gatedDefault(GatedDefaultCall& call) override {
    gate_->Pass([&] { return call.aborted(); });
    call.results().setValue(7);
    return absl::OkStatus();
  }
  absl::Status gatedTimed(GatedTimedCall& call) override {
    gate_->Pass([&] { return call.aborted(); });
    call.results().setValue(8);
    return absl::OkStatus();
  }
  absl::Status stuck(StuckCall&) override {
    gate_->PassIgnoringAbort();
    return absl::OkStatus();
  }
  absl::Status manyTexts(ManyTextsCall& call) override {
    auto items = call.results().initItems(call.params().getCount());
    for (uint32_t i = 0; i < items.size(); ++i) items.set(i, ("item " + std::to_string(i)).c_str());
    return absl::OkStatus();
  }
  absl::Status spin(SpinCall& call) override {
    uint64_t i = 0;
    const uint64_t n = call.params().getIterations();
    while (i < n && !call.aborted()) ++i;
    call.results().setReached(i);
    return absl::OkStatus();
  }

 private:
  uint32_t index_;
  Gate* gate_;
};

// A pool of TestServiceImpl workers numbered 0, 1, ... in creation order,
// all sharing `gate` (which must outlive the pool).
inline absl::StatusOr<weft::Pool<TestService>> MakeTestPool(Gate& gate,
                                                            const weft::PoolOptions& options) {
  auto next = std::make_shared<std::atomic<uint32_t>>(0);
  return weft::Pool<TestService>::Create(
      options, [&gate, next] { return std::make_unique<TestServiceImpl>((*next)++, &gate); });
}

// `workers` thread workers with `slots_per_lane` slots; a pool that cannot
// be made stops the test binary, saying why.
inline weft::Pool<TestService> MakeWorkerPool(Gate& gate, int workers,
                                              uint32_t slots_per_lane = 256) {
  weft::PoolOptions options;
  options.workers = workers;
  options.slots_per_lane = slots_per_lane;
  absl::StatusOr<weft::Pool<TestService>> pool = MakeTestPool(gate, options);
  if (!pool.ok()) {
    std::fprintf(stderr, "MakeWorkerPool: %s\n", pool.status().ToString().c_str());
    std::abort();
  }
  return *std::move(pool);
}

}  // namespace weft_test

#endif  // WEFT_TESTS_POOL_TEST_SERVICE_IMPL_H_
