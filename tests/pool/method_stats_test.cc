// Pool::Stats() per method and per worker after a known sequence of calls:
// the counts, the outcomes by status code, the histograms' sample counts,
// resolutions on threads with no lane, stats off, and the Prometheus text
// parsed back line by line.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using absl::StatusCode;

// A copy: callers often pass a temporary PoolStats.
weft::MethodStats Method(const weft::PoolStats& stats, const std::string& name) {
  for (const weft::MethodStats& m : stats.methods) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no method " << name;
  return weft::MethodStats();
}

int Code(StatusCode c) { return static_cast<int>(c); }

// `workers` thread workers that time every call (stats_time_every = 1), so
// that the histograms hold every call these tests make.
weft::Pool<TestService> TimingEveryCall(Gate& gate, int workers) {
  weft::PoolOptions options;
  options.workers = workers;
  options.stats_time_every = 1;
  absl::StatusOr<weft::Pool<TestService>> pool = MakeTestPool(gate, options);
  if (!pool.ok()) {
    std::fprintf(stderr, "TimingEveryCall: %s\n", pool.status().ToString().c_str());
    std::abort();
  }
  return *std::move(pool);
}

TEST(MethodStats, CountEveryCallAndItsOutcomeByCode) {
  Gate gate;
  weft::Pool<TestService> pool = TimingEveryCall(gate, 2);
  auto stub = pool.stub();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(stub.square(i).Get().ok());
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(stub.fail(Code(StatusCode::kNotFound), "gone").Get().status().code(),
              StatusCode::kNotFound);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(stub.fail(Code(StatusCode::kUnavailable), "later").Get().status().code(),
              StatusCode::kUnavailable);
  }
  // A deadline the host enforces: the gate stays shut until it passed.
  EXPECT_EQ(stub.gatedTimed().Get().status().code(), StatusCode::kDeadlineExceeded);
  gate.Open();
  // A worker records a call's figures just after it publishes the result:
  // wait until all 111 are in (the timed-out one finishes after its caller
  // gave up).
  ASSERT_TRUE(PollUntil(
      [&] {
        uint64_t served = 0;
        for (const weft::MethodStats& m : pool.Stats().methods) served += m.served;
        return served == 111;
      },
      kHangBound))
      << "the workers' per-method counts never reached 111";

  const weft::PoolStats stats = pool.Stats();
  EXPECT_TRUE(stats.enabled);
  EXPECT_EQ(stats.interface_name, "weft_test::TestService");
  ASSERT_EQ(stats.methods.size(), weft::InterfaceTraits<TestService>::kMethodCount);
  const weft::MethodStats& square = Method(stats, "square");
  EXPECT_EQ(square.submitted, 100u);
  EXPECT_EQ(square.resolved, 100u);
  EXPECT_EQ(square.errors, 0u);
  EXPECT_EQ(square.by_code[0], 100u);
  EXPECT_EQ(square.served, 100u);
  EXPECT_EQ(square.served_by_code[0], 100u);
  EXPECT_EQ(square.in_flight, 0u);
  EXPECT_EQ(square.round_trip.count(), 100u);
  EXPECT_EQ(square.queue_wait.count(), 100u);
  EXPECT_EQ(square.service.count(), 100u);
  EXPECT_GT(square.round_trip.Percentile(0.5), 0u);
  EXPECT_LE(square.round_trip.Percentile(0.5), square.round_trip.Percentile(0.99));
  // A round trip holds the worker's part of it.
  EXPECT_GE(square.round_trip.sum_ns(), square.service.sum_ns());

  const weft::MethodStats& fail = Method(stats, "fail");
  EXPECT_EQ(fail.resolved, 10u);
  EXPECT_EQ(fail.errors, 10u);
  EXPECT_EQ(fail.by_code[Code(StatusCode::kNotFound)], 7u);
  EXPECT_EQ(fail.by_code[Code(StatusCode::kUnavailable)], 3u);
  EXPECT_EQ(fail.served_by_code[Code(StatusCode::kNotFound)], 7u);
  EXPECT_EQ(fail.served_by_code[Code(StatusCode::kUnavailable)], 3u);

  const weft::MethodStats& timed = Method(stats, "gatedTimed");
  EXPECT_EQ(timed.resolved, 1u);
  EXPECT_EQ(timed.by_code[Code(StatusCode::kDeadlineExceeded)], 1u);
  EXPECT_EQ(timed.served, 1u);  // the worker finished it after the caller gave up

  uint64_t submitted = 0, served = 0;
  for (const weft::WorkerStats& w : stats.workers) {
    submitted += w.submitted;
    served += w.calls_served;
    EXPECT_EQ(w.in_flight, 0u);
    EXPECT_EQ(w.queued, 0u);
    EXPECT_EQ(w.busy_ns, w.service.sum_ns());
    EXPECT_GE(w.utilization, 0.0);
    EXPECT_LE(w.utilization, 1.0);
  }
  EXPECT_EQ(submitted, 111u);
  EXPECT_EQ(served, 111u);
  EXPECT_NE(stats.ToString().find("square"), std::string::npos) << stats.ToString();
}

TEST(MethodStats, ShowCallsInFlightAndQueuedWhileTheyWait) {
  Gate gate;
  weft::Pool<TestService> pool = TimingEveryCall(gate, 1);
  auto stub = pool.stub();
  std::vector<weft::Future<TestService::GatedResults>> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(stub.gated());
  gate.WaitEntered(1);  // one runs, two wait on the ring
  const weft::PoolStats stats = pool.Stats();
  EXPECT_EQ(Method(stats, "gated").in_flight, 3u);
  EXPECT_EQ(Method(stats, "gated").queued, 2u);
  EXPECT_EQ(stats.workers[0].in_flight, 3u);
  EXPECT_EQ(stats.workers[0].queued, 2u);
  gate.Open();
  for (auto& f : waiting) EXPECT_TRUE(f.Get().ok());
  EXPECT_EQ(Method(pool.Stats(), "gated").in_flight, 0u);
}

TEST(MethodStats, ResolutionsOnThreadsWithoutALaneCountToo) {
  Gate gate;
  weft::Pool<TestService> pool = TimingEveryCall(gate, 1);
  auto stub = pool.stub();
  std::vector<weft::Future<TestService::SquareResults>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(stub.square(i));
  // Another thread, which never called the pool, resolves them all.
  std::thread waiter([&] {
    for (auto& f : futures) EXPECT_TRUE(f.Get().ok());
  });
  waiter.join();
  // And Then callbacks, which resolve on the continuation thread.
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    stub.square(i).Then([&](absl::StatusOr<weft::Response<TestService::SquareResults>> r) {
      EXPECT_TRUE(r.ok());
      done.fetch_add(1);
    });
  }
  {
    Watchdog dog("20 Then callbacks ran", kHangBound);
    while (done.load() < 20) std::this_thread::yield();
  }
  const weft::MethodStats& square = Method(pool.Stats(), "square");
  EXPECT_EQ(square.submitted, 70u);
  EXPECT_EQ(square.resolved, 70u);
  EXPECT_EQ(square.round_trip.count(), 70u);
}

TEST(MethodStats, OneCallInStatsTimeEveryIsTimedAndEveryCallCounted) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  options.stats_time_every = 4;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(pool->stub().square(i).Get().ok());
  ASSERT_TRUE(PollUntil([&] { return Method(pool->Stats(), "square").served == 100; }, kHangBound));
  const weft::MethodStats& square = Method(pool->Stats(), "square");
  EXPECT_EQ(square.resolved, 100u);
  // One host thread: its 1st, 5th, 9th, ... call is timed.
  EXPECT_EQ(square.round_trip.count(), 25u);
  EXPECT_EQ(square.queue_wait.count(), 25u);
  EXPECT_EQ(square.service.count(), 25u);
  // Busy time is the sample's service time scaled to every call served.
  EXPECT_EQ(pool->Stats().workers[0].busy_ns, 4 * square.service.sum_ns());
}

TEST(MethodStats, AZeroStatsTimeEveryIsRefusedClearly) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  options.stats_time_every = 0;
  auto refused = MakeTestPool(gate, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("stats_time_every must be at least 1"),
            std::string::npos)
      << refused.status();
  options.stats_time_every = 1;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_TRUE(pool->stub().square(3).Get().ok());
}

TEST(MethodStats, OffKeepsTheWorkerCountersAndNoPerMethodFigures) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  options.stats = false;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool->stub().square(i).Get().ok());
  const weft::PoolStats stats = pool->Stats();
  EXPECT_FALSE(stats.enabled);
  EXPECT_EQ(stats.workers[0].calls_served, 10u);
  const weft::MethodStats& square = Method(stats, "square");
  EXPECT_EQ(square.resolved, 0u);
  EXPECT_EQ(square.served, 0u);
  EXPECT_EQ(square.round_trip.count(), 0u);
  EXPECT_NE(stats.ToString().find("stats off"), std::string::npos);
}

// A parser for the Prometheus text format's sample lines:
//   name{label="value",...} number
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

bool ParseSample(absl::string_view line, Sample* out) {
  const size_t brace = line.find('{');
  const size_t close = line.rfind('}');
  if (brace == absl::string_view::npos || close == absl::string_view::npos || close < brace) {
    return false;
  }
  out->name = std::string(line.substr(0, brace));
  for (char c : out->name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) return false;
  }
  absl::string_view labels = line.substr(brace + 1, close - brace - 1);
  while (!labels.empty()) {
    const size_t eq = labels.find("=\"");
    if (eq == absl::string_view::npos) return false;
    const std::string key(labels.substr(0, eq));
    size_t end = eq + 2;
    std::string value;
    while (end < labels.size() && labels[end] != '"') {
      if (labels[end] == '\\' && end + 1 < labels.size()) ++end;
      value += labels[end++];
    }
    if (end >= labels.size()) return false;
    out->labels[key] = value;
    labels.remove_prefix(end + 1);
    if (!labels.empty() && !absl::ConsumePrefix(&labels, ",")) return false;
  }
  absl::string_view number = absl::StripAsciiWhitespace(line.substr(close + 1));
  return absl::SimpleAtod(number, &out->value);
}

TEST(Prometheus, TheTextParsesAndItsHistogramsAreCumulative) {
  Gate gate;
  weft::Pool<TestService> pool = TimingEveryCall(gate, 2);
  auto stub = pool.stub();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(stub.square(i).Get().ok());
  for (int i = 0; i < 4; ++i) (void)stub.fail(Code(StatusCode::kNotFound), "x").Get();
  const std::string text = pool.Stats().ToPrometheus();

  std::map<std::string, std::string> types;  // from # TYPE lines
  std::vector<Sample> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      ASSERT_EQ(parts.size(), 2u) << line;
      types[parts[0]] = parts[1];
      continue;
    }
    if (absl::StartsWith(line, "# HELP ")) continue;
    Sample s;
    ASSERT_TRUE(ParseSample(line, &s)) << "not a sample line: " << line;
    EXPECT_EQ(s.labels["interface"], "weft_test::TestService") << line;
    samples.push_back(s);
  }
  std::map<std::string, double> calls;  // code -> count, for square and fail
  std::vector<double> buckets;          // weft_call_duration_seconds of square, in order
  double count = -1;
  for (const Sample& s : samples) {
    // Every sample belongs to a declared metric (histograms: name_bucket etc.).
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (types.count(family) == 0 && absl::EndsWith(family, suffix)) {
        family = family.substr(0, family.size() - strlen(suffix));
      }
    }
    EXPECT_EQ(types.count(family), 1u) << s.name;
    if (s.name == "weft_calls_total") {
      calls[s.labels.at("method") + "/" + s.labels.at("code")] = s.value;
    }
    if (s.name == "weft_call_duration_seconds_bucket" && s.labels.at("method") == "square") {
      buckets.push_back(s.value);
      if (s.labels.at("le") == "+Inf") {
        EXPECT_EQ(s.value, 40);
      }
    }
    if (s.name == "weft_call_duration_seconds_count" && s.labels.at("method") == "square") {
      count = s.value;
    }
  }
  EXPECT_EQ(types["weft_calls_total"], "counter");
  EXPECT_EQ(types["weft_call_duration_seconds"], "histogram");
  EXPECT_EQ(calls["square/OK"], 40);
  EXPECT_EQ(calls["fail/NOT_FOUND"], 4);
  EXPECT_EQ(count, 40);
  ASSERT_FALSE(buckets.empty());
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_LE(buckets[i - 1], buckets[i]);
}

}  // namespace
}  // namespace weft_test
