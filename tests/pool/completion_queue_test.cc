// weft::CompletionQueue: exactly-once delivery, fd() readiness, tags and
// types, lifetime; and the continuation thread it relies on sleeping on the
// doorbells without a timeout (no polling).
#include "runtime/completion_queue.h"

#include <poll.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST(CompletionQueue, AThousandCallsResolvedInRandomOrderAreEachDeliveredOnce) {
  Gate gate;
  // One worker: the first gated call holds it, so every other gated call
  // waits in the queue until the test aborts it, in an order of its choice.
  Pool pool = MakeWorkerPool(gate, 1, 1024);
  weft::Stub<TestService> stub = pool.stub();
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok()) << cq.status();

  constexpr int kCalls = 1000;
  std::vector<weft::Future<TestService::GatedResults>> gated;
  gated.push_back(stub.gated());
  gate.WaitEntered(1);
  for (int i = 1; i < kCalls; ++i) gated.push_back(stub.gated());
  std::mt19937 rng(20261201);
  std::vector<int> order(kCalls);
  for (int i = 0; i < kCalls; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  // Half are aborted (resolved, host side) before being added, in random
  // order; the rest are added unresolved and resolve when the gate opens.
  std::vector<bool> aborted(kCalls, false);
  for (int k = 0; k < kCalls / 2; ++k) {
    const int i = order[k];
    if (i == 0) continue;  // the running one ends with the gate
    gated[i].Abort();
    aborted[i] = true;
  }
  std::shuffle(order.begin(), order.end(), rng);
  for (int i : order) cq->Add(std::move(gated[i]), static_cast<uint64_t>(i));
  EXPECT_EQ(cq->outstanding(), static_cast<size_t>(kCalls));

  Watchdog dog("the completion queue delivered every call", kHangBound);
  std::map<uint64_t, int> seen;
  int cancelled = 0;
  int served = 0;
  bool opened = false;
  while (seen.size() < static_cast<size_t>(kCalls)) {
    if (!opened &&
        seen.size() == static_cast<size_t>(std::count(aborted.begin(), aborted.end(), true))) {
      // Every aborted call came out first (the others are still queued
      // behind the gate): now let the rest run, one after another.
      gate.Open();
      opened = true;
    }
    std::optional<weft::Completion> c = cq->Next();
    ASSERT_TRUE(c.has_value()) << "Next() ended with " << seen.size() << " delivered";
    const uint64_t tag = c->tag();
    ASSERT_LT(tag, static_cast<uint64_t>(kCalls));
    ++seen[tag];
    auto r = c->Get<TestService::GatedResults>();
    if (aborted[tag]) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << tag << ": " << r.status();
      ++cancelled;
    } else {
      ASSERT_TRUE(r.ok()) << tag << ": " << r.status();
      ++served;
    }
  }
  dog.Done();
  for (const auto& [tag, n] : seen)
    EXPECT_EQ(n, 1) << "tag " << tag << " delivered " << n << " times";
  EXPECT_EQ(cancelled + served, kCalls);
  EXPECT_EQ(cq->outstanding(), 0u);
  // Nothing outstanding: Next() returns at once.
  EXPECT_FALSE(cq->Next().has_value());
  EXPECT_FALSE(Readable(cq->fd(), 0));
}

TEST(CompletionQueue, FdIsReadableExactlyWhileACompletionWaits) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok()) << cq.status();
  const int fd = cq->fd();

  auto a = stub.gated();
  auto b = stub.gated();
  gate.WaitEntered(2);
  cq->Add(std::move(a), 1);
  cq->Add(std::move(b), 2);
  EXPECT_FALSE(Readable(fd, 0)) << "readable with nothing resolved";
  EXPECT_FALSE(cq->TryNext().has_value());

  Watchdog dog("fd() became readable once the calls resolved", kHangBound);
  gate.Open();
  // Both resolve; the fd stays readable until both are taken.
  ASSERT_TRUE(Readable(fd, -1));
  std::optional<weft::Completion> first = cq->Next();
  ASSERT_TRUE(first.has_value());
  std::optional<weft::Completion> second = cq->Next();  // waits for the second if need be
  ASSERT_TRUE(second.has_value());
  dog.Done();
  EXPECT_FALSE(Readable(fd, 0)) << "readable with nothing left to take";
  EXPECT_NE(first->tag(), second->tag());
  EXPECT_TRUE(first->Get<TestService::GatedResults>().ok());
  EXPECT_TRUE(second->Get<TestService::GatedResults>().ok());

  // One more: readable again, then not once taken.
  cq->Add(stub.square(9), 3);
  ASSERT_TRUE(Readable(fd, static_cast<int>(absl::ToInt64Milliseconds(kHangBound))));
  std::optional<weft::Completion> third = cq->TryNext();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->tag(), 3u);
  EXPECT_FALSE(Readable(fd, 0));
  auto r = third->Get<TestService::SquareResults>();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 81);
}

TEST(CompletionQueue, GetWithTheWrongResultsTypeNamesTheMethod) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok());
  cq->Add(pool.stub().square(4), 7);
  std::optional<weft::Completion> c = cq->Next();
  ASSERT_TRUE(c.has_value());
  auto wrong = c->Get<TestService::EchoResults>();
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument) << wrong.status();
  EXPECT_NE(wrong.status().message().find("square"), std::string::npos) << wrong.status();
  // The call is not lost: the right type still reads it.
  auto right = c->Get<TestService::SquareResults>();
  ASSERT_TRUE(right.ok()) << right.status();
  EXPECT_EQ(right->getResult(), 16);
  // And the pool keeps working.
  EXPECT_EQ(pool.stub().square(5).Get()->getResult(), 25);
}

TEST(CompletionQueue, EveryWaiterReturnsOnceTheLastCallIsTaken) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok());
  auto f = pool.stub().gated();
  gate.WaitEntered(1);
  cq->Add(std::move(f), 1);
  Watchdog dog("both threads in Next() returned", kHangBound);
  std::atomic<int> got{0};
  std::atomic<int> empty{0};
  auto wait = [&] {
    if (cq->Next().has_value()) {
      got.fetch_add(1);
    } else {
      empty.fetch_add(1);
    }
  };
  std::thread a(wait);
  std::thread b(wait);
  gate.Open();
  a.join();
  b.join();
  dog.Done();
  EXPECT_EQ(got.load(), 1);
  EXPECT_EQ(empty.load(), 1);
}

TEST(CompletionQueue, ASecondGetIsFailedPrecondition) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok());
  cq->Add(pool.stub().square(2), 1);
  std::optional<weft::Completion> c = cq->Next();
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->Get<TestService::SquareResults>().ok());
  EXPECT_EQ(c->Get<TestService::SquareResults>().status().code(),
            absl::StatusCode::kFailedPrecondition);
  // And a moved-from future says the same.
  auto f = pool.stub().square(3);
  auto g = std::move(f);
  EXPECT_EQ(f.Get().status().code(),
            absl::StatusCode::kFailedPrecondition);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(g.Get().ok());
}

TEST(CompletionQueue, CallsThatFailedBeforeSendingAreDeliveredToo) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok());
  ASSERT_TRUE(pool.Shutdown().ok());
  cq->Add(stub.square(1), 11);  // fails at once: the pool is shut down
  std::optional<weft::Completion> c = cq->TryNext();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tag(), 11u);
  EXPECT_EQ(c->Get<TestService::SquareResults>().status().code(), absl::StatusCode::kUnavailable);
}

TEST(CompletionQueue, DestroyingTheQueueAbandonsItsCalls) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  {
    absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
    ASSERT_TRUE(cq.ok());
    cq->Add(stub.gated(), 1);
    gate.WaitEntered(1);
  }  // the worker's gated() sees aborted()
  ASSERT_TRUE(PollUntil([&] { return gate.aborted_count() == 1; }, kHangBound))
      << "the abandoned call was not aborted";
  // The pool keeps working.
  auto r = stub.square(6).Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 36);
}

TEST(CompletionQueue, ACompletionOutlivesItsQueue) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  std::optional<weft::Completion> kept;
  {
    absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
    ASSERT_TRUE(cq.ok());
    cq->Add(pool.stub().square(12), 5);
    kept = cq->Next();
  }
  ASSERT_TRUE(kept.has_value());
  auto r = kept->Get<TestService::SquareResults>();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 144);
}

// The continuation thread's task id, by the name it gives itself.
std::optional<std::string> ThenThreadTask() {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "weft-then") return entry.path().filename().string();
  }
  return std::nullopt;
}

// /proc/self/task/TID/syscall: "NR arg1 ... arg6 sp pc" while blocked in a
// system call.
std::vector<std::string> BlockedSyscall(const std::string& task) {
  std::ifstream in("/proc/self/task/" + task + "/syscall");
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

TEST(Continuations, TheContinuationThreadSleepsOnTheDoorbellsWithoutATimeout) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  std::atomic<bool> ran{false};
  auto f = stub.gated();
  gate.WaitEntered(1);
  std::move(f).Then([&](auto r) { ran.store(r.ok()); });
  std::optional<std::string> task;
  ASSERT_TRUE(PollUntil([&] { return (task = ThenThreadTask()).has_value(); }, kHangBound));
  // Blocked in futex_waitv (a polling thread would show a timeout, or no
  // system call at all, most of the time) with a null timeout: it sleeps
  // until a doorbell rings.
  std::vector<std::string> call;
  ASSERT_TRUE(PollUntil(
      [&] {
        call = BlockedSyscall(*task);
        return call.size() >= 5 && call[0] == std::to_string(SYS_futex_waitv);
      },
      kHangBound))
      << "the continuation thread is not asleep in futex_waitv: "
      << (call.empty() ? "(nothing)" : call[0]);
  EXPECT_EQ(call[4], "0x0") << "futex_waitv with a timeout (arg 4): it would poll";
  Watchdog dog("the Then callback ran once the call resolved", kHangBound);
  gate.Open();
  ASSERT_TRUE(PollUntil([&] { return ran.load(); }, kHangBound));
  dog.Done();
}

}  // namespace
}  // namespace weft_test
