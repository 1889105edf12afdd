// A chaos soak of the whole runtime. Several host threads send a seeded
// random mix of calls to four pools at once:
//
//   threads   thread workers serving ProcImpl (tests/process/proc_impl.h)
//   processes process workers (tests/process:proc_worker), SIGKILLed at random
//   doomed    a pool shut down in the middle of traffic, again and again: each
//             generation is replaced by a new one (thread and process workers
//             in turn, random options) while the others keep calling it
//   hostile   one tests/process:hostile_worker in a pool of its own, told now
//             and then to scribble over or poison its region; replaced like
//             the doomed pool (a scribbled region header makes every
//             replacement worker fail to start, so such a generation is
//             soon given up: runtime defect, see runtime_defects_test.cc,
//             AWorkerThatCorruptsItsRegionHeaderCanNeverBeReplaced)
//
// The mix: plain calls (square, echo with payloads inline and spilled, pid),
// Future::Then, Abort(), short deadlines (with each on_timeout), payloads over
// max_payload_bytes and at its edge, dropped futures, kill -9 of process
// workers, calls to pools already shut down. Every call gets a record; at the
// end the test checks and prints: each call resolved exactly once with a
// status its situation allows (and a second Get() is FailedPrecondition), the
// values of OK results, every killed worker replaced, no abort slot and no
// call slot held, no child process, fd, thread or /dev/shm name left, and
// RSS bounded.
//
// Scale: WEFT_SOAK_CALLS (default below; a long run: 1000000),
// WEFT_SOAK_SECONDS (stop sending after this long; 0 = no limit),
// WEFT_SOAK_THREADS (4), WEFT_SOAK_SEED (default: random; printed, and the
// op sequence of each host thread is a function of it — the interleaving is
// not). WEFT_SOAK_STALL_SECONDS: the watchdog's bound (below).
//
//   tools/bazel test //tests/soak:soak_test
//   WEFT_SOAK_CALLS=1000000 WEFT_SOAK_SECONDS=1800 tools/bazel run -c opt //tests/soak:soak_test
//
// No pass/fail depends on time. The run length may be bounded by
// WEFT_SOAK_SECONDS, and a watchdog turns a hang into a failure: if no call
// resolves and no op starts for WEFT_SOAK_STALL_SECONDS, it prints what each
// host thread waits for and aborts.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/soak/census.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The CI scale: 15-30 s in fastbuild on 2 (shared) cores, about as long
// under TSan/ASan (their slowdown is mostly hidden behind the waits).
constexpr uint64_t kDefaultCalls = 10'000;
constexpr uint64_t kMaxPayload = 256 << 10;  // max_payload_bytes of every pool
constexpr uint64_t kForever = ~0ull;         // spin() iterations: ends only when aborted
// RSS may grow this much past its value after the warm-up. Generous: the
// sanitizers keep freed memory in quarantine and map shadow memory.
constexpr int64_t kRssBoundKib = (kSanitized ? 768 : 256) << 10;

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 10);
}

struct Config {
  uint64_t calls = kDefaultCalls;
  uint64_t seconds = 0;
  uint64_t seed = 0;
  int threads = 4;
  uint64_t stall_seconds = 0;
};

Config ConfigFromEnv() {
  Config c;
  c.calls = EnvU64("WEFT_SOAK_CALLS", kDefaultCalls);
  c.seconds = EnvU64("WEFT_SOAK_SECONDS", 0);
  c.seed = EnvU64("WEFT_SOAK_SEED", std::random_device{}());
  c.threads = static_cast<int>(std::clamp<uint64_t>(EnvU64("WEFT_SOAK_THREADS", 4), 1, 32));
  c.stall_seconds = EnvU64("WEFT_SOAK_STALL_SECONDS", kSanitized ? 300 : 120);
  return c;
}

using Rng = std::mt19937_64;

uint64_t Uniform(Rng& rng, uint64_t lo, uint64_t hi) {  // [lo, hi]
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
}

// ------------------------------------------------------------ call records

enum class Target : uint8_t {
  kThreads,
  kProcesses,
  kDoomed,        // a doomed generation not (yet) seen shut down when the call began
  kDoomedClosed,  // a doomed generation whose Shutdown had returned before the call began
  kHostile,
  kHostileClosed,
  kCount,
};

const char* TargetName(Target t) {
  static constexpr const char* kNames[] = {
      "threads", "processes", "doomed", "doomed (shut down)", "hostile", "hostile (shut down)"};
  return kNames[static_cast<int>(t)];
}

enum class Op : uint8_t {
  kSquare,
  kEcho,
  kPid,
  kThen,             // square(), its outcome taken by Future::Then
  kAbort,            // spin(forever), then Abort()
  kDeadlineSpin,     // spin(forever) with a short deadline
  kDeadlineDefault,  // ... and on_timeout = DefaultResult()
  kDeadlineCustom,   // ... and on_timeout = Return(Aborted)
  kDeadlineSquare,   // square() with a deadline about as long as the call
  kOversized,        // echo() of more than max_payload_bytes
  kNearLimit,        // echo() of just under max_payload_bytes (the response may not fit)
  kEchoBurst,        // several large echo() calls in flight at once on one lane
  kDrop,             // the future is destroyed unresolved
  kScribble,         // hostile: start overwriting the region
  kPoison,           // hostile: poison the request areas
  kCount,
};

const char* OpName(Op op) {
  static constexpr const char* kNames[] = {"square",
                                           "echo",
                                           "pid",
                                           "then",
                                           "abort",
                                           "deadline spin",
                                           "deadline default-result",
                                           "deadline custom-status",
                                           "deadline square",
                                           "oversized",
                                           "near-limit",
                                           "echo burst",
                                           "dropped",
                                           "scribble",
                                           "poison"};
  return kNames[static_cast<int>(op)];
}

const absl::Status& CustomTimeout() {
  static const absl::Status* status = new absl::Status(absl::AbortedError("soak: custom timeout"));
  return *status;
}

// One call. Written by the host thread that made it; resolutions and code
// also by the continuation thread for Then calls (hence atomics). Read by
// the main thread after every pool shut down (every continuation ran).
struct Record {
  Record(Op o, Target t, bool f) : op(o), target(t), fail_fast(f) {}
  const Op op;
  const Target target;
  const bool fail_fast;  // the pool fails calls at once when a lane is full
  std::atomic<uint32_t> resolutions{0};
  std::atomic<int> code{-1};  // absl::StatusCode of the outcome; -1: none yet
};

// The statuses a call may end with, by where it went and what it was.
bool Allowed(const Record& r, const absl::Status& s) {
  using C = absl::StatusCode;
  const C c = s.code();
  switch (r.target) {
    case Target::kDoomedClosed:
    case Target::kHostileClosed:
      // Shut down before the call began: nothing but Unavailable, whatever
      // the call (even an oversized one: the shutdown is checked first).
      return c == C::kUnavailable;
    case Target::kHostile: {
      // A hostile worker may write back any status (it can fake any code),
      // and the host's own verdicts on what it wrote: DataLoss,
      // InvalidArgument, Unavailable (it died), DeadlineExceeded (it
      // stalled), ResourceExhausted. Any valid code, a bounded message.
      const int code = static_cast<int>(c);
      return code >= 0 && code <= 16 && s.message().size() <= 4096;
    }
    default:
      break;
  }
  // A killed process worker fails the call it was running.
  if (r.target == Target::kProcesses && c == C::kUnavailable) return true;
  // An echo with a spilled response to the processes pool may fail
  // ResourceExhausted only because of a runtime defect (see
  // runtime_defects_test.cc, AReplacementWorkerReservesHeapNamedByStaleResponseTables):
  // a replacement worker reserves the response heap spans named by the
  // stale response table of every slot the host has not released yet, and
  // slots of calls resolved early are released only lazily, so after kills
  // a lane's response heap can stay full of spans nobody uses.
  if (r.target == Target::kProcesses && r.op == Op::kEcho && c == C::kResourceExhausted &&
      s.message() == "weft: the response of echo exceeds max_payload_bytes") {
    return true;
  }
  if (r.target == Target::kDoomed) {
    // Shut down under the call: refused (Unavailable), cancelled (kCancelPending,
    // or a drain whose grace ran out), or its worker stopped (Unavailable).
    if (c == C::kUnavailable || c == C::kCancelled) return true;
    if (r.fail_fast && c == C::kResourceExhausted) return true;  // queue_full = kFail
  }
  // Abortable calls hold an abort slot; with none free they fail at once.
  const bool abort_slot_full = c == C::kResourceExhausted;
  switch (r.op) {
    case Op::kSquare:
    case Op::kEcho:
    case Op::kPid:
    case Op::kThen:
      return s.ok();
    case Op::kAbort:
      return c == C::kCancelled || abort_slot_full;
    case Op::kDeadlineSpin:
      return c == C::kDeadlineExceeded || abort_slot_full;
    case Op::kDeadlineDefault:
    case Op::kDeadlineCustom:
      // DeadlineExceeded is allowed only because of a runtime defect (see
      // runtime_defects_test.cc, OnTimeoutIsIgnoredWhenTheWorkerSawTheDeadline):
      // when the worker picks the call up after its deadline it answers
      // DeadlineExceeded itself, and the host takes that answer instead of
      // the call's on_timeout.
      if (c == C::kDeadlineExceeded || abort_slot_full) return true;
      return r.op == Op::kDeadlineDefault ? s.ok() : s == CustomTimeout();
    case Op::kDeadlineSquare:
      return s.ok() || c == C::kDeadlineExceeded;
    case Op::kOversized:
      return c == C::kResourceExhausted;
    case Op::kNearLimit:
      return s.ok() || c == C::kResourceExhausted;  // the response is a few words larger
    case Op::kEchoBurst:
      // Each response is under max_payload_bytes, so each should succeed;
      // ResourceExhausted is allowed only because of a runtime defect (see
      // runtime_defects_test.cc, ResponsesUnderTheLimitFailWhenTheirSumIsOverIt):
      // a lane's response heap is max_payload_bytes for all its calls
      // together, and a response that finds it full of responses not yet
      // taken fails with "exceeds max_payload_bytes".
      return s.ok() || c == C::kResourceExhausted;
    default:
      return false;
  }
}

// What broke an invariant, grouped by kind (so one repeated problem does not
// hide the others), with the first few examples.
class Violations {
 public:
  void Add(const std::string& kind, std::string example) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    Group& g = groups_[kind];
    ++g.count;
    if (g.examples.size() < 3) g.examples.push_back(std::move(example));
  }
  uint64_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::string Describe() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = absl::StrCat(count_, " violation(s):");
    for (const auto& [kind, g] : groups_) {
      absl::StrAppend(&out, "\n  ", g.count, " x ", kind, "\n    e.g. ",
                      absl::StrJoin(g.examples, "\n    e.g. "));
    }
    return out;
  }

 private:
  struct Group {
    uint64_t count = 0;
    std::vector<std::string> examples;
  };
  std::mutex mu_;
  uint64_t count_ = 0;
  std::map<std::string, Group> groups_;
};

// ------------------------------------------------------------ generations

// One pool of a rotating kind (doomed, hostile).
struct Generation {
  int id = 0;
  bool process = false;
  bool fail_fast = false;
  std::string options;  // what was picked, for the report
  std::optional<Pool> pool;
  std::optional<weft::Stub<ProcTest>> stub;
  // Release-stored once Shutdown returned; pairs with the acquire load a
  // host thread does before a call (then only Unavailable is allowed).
  std::atomic<bool> closed{false};
};

// The current generation of a rotating pool, and the earlier ones until
// they are checked and destroyed. A generation is referred to by the host
// threads that call it (their current and previous one) and by every call
// to it still in a window or waiting for its Then callback; once only the
// Rotation refers to it, nothing can use it again, and its final figures
// can be checked (and its memory given back: a long run makes dozens).
class Rotation {
 public:
  std::shared_ptr<Generation> Current() {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  // `next` becomes current; the current one is retired.
  void Add(std::shared_ptr<Generation> next) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ != nullptr) retired_.push_back(std::move(current_));
    current_ = std::move(next);
  }
  // The retired generations nothing else refers to, taken out. (A count of
  // 1 cannot grow again: new references are copies of `current_` only.)
  std::vector<std::shared_ptr<Generation>> TakeIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Generation>> idle;
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->use_count() == 1) {
        idle.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
    return idle;
  }
  // Everything not yet taken: the retired ones and the current one.
  std::vector<std::shared_ptr<Generation>> TakeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Generation>> all = std::move(retired_);
    retired_.clear();
    if (current_ != nullptr) all.push_back(std::move(current_));
    return all;
  }

 private:
  std::mutex mu_;
  std::shared_ptr<Generation> current_;
  std::vector<std::shared_ptr<Generation>> retired_;
};

// ------------------------------------------------------------ the soak

class Soak;

// A call in flight in a host thread's window.
class Pending {
 public:
  Pending(Record* record, const char* what) : record_(record), what_(what) {}
  virtual ~Pending() = default;
  virtual void Resolve(Soak& soak) = 0;
  const char* what() const { return what_; }

 protected:
  Record* record_;
  const char* what_;
};

template <typename R>
using Check = std::function<std::string(const weft::Response<R>&)>;

class Soak {
 public:
  explicit Soak(const Config& config);

  absl::Status Start();
  void Run();
  void Finish();
  void Report(double wall_seconds);
  // Destroys every pool (all of them are shut down by Finish()).
  void Release();

  // A call's outcome, from Pending::Resolve or a Then callback.
  void Resolved(Record& r, const absl::Status& s, const char* what);
  Violations& violations() { return violations_; }
  int64_t warm_rss_kib() const { return warm_rss_kib_.load(std::memory_order_relaxed); }

 private:
  struct HostThread {
    // The generation the call being made goes to (none: the threads or
    // processes pool); the call's Pending or Then callback keeps a copy.
    std::shared_ptr<Generation> calling;
    // What a call to the threads, processes or doomed pool is (Op order).
    std::discrete_distribution<int> ops{
        30,  // kSquare
        20,  // kEcho
        4,   // kPid
        10,  // kThen
        8,   // kAbort
        4,   // kDeadlineSpin
        2,   // kDeadlineDefault
        2,   // kDeadlineCustom
        6,   // kDeadlineSquare
        3,   // kOversized
        2,   // kNearLimit
        1,   // kEchoBurst
        5,   // kDrop
    };
    // What an op is: 0 kill -9 a process worker, 1 a call to the hostile
    // pool, 2 a call to a generation already replaced, 3 threads, 4
    // processes, 5 doomed.
    std::discrete_distribution<int> events{3, 40, 10, 380, 330, 237};
    std::deque<Record> records;  // stable addresses while growing
    // What the thread is doing, for the watchdog's report. Relaxed: display only.
    std::atomic<const char*> activity{"starting"};
  };
  using Window = std::vector<std::unique_ptr<Pending>>;

  absl::StatusOr<std::shared_ptr<Generation>> MakeDoomed(int id, Rng& rng);
  absl::StatusOr<std::shared_ptr<Generation>> MakeHostile(int id);
  void Host(int index);
  void Call(HostThread& me, Rng& rng, Window& window, Target target, weft::Stub<ProcTest>& stub,
            bool fail_fast, bool process);
  void HostileCall(HostThread& me, Rng& rng, Window& window, const std::shared_ptr<Generation>& g);
  void Kill(Rng& rng);
  void Rotate(HostThread& me, Rng& rng, bool hostile);
  Record* NewRecord(HostThread& me, Op op, Target target, bool fail_fast) {
    return &me.records.emplace_back(op, target, fail_fast);
  }
  template <typename R>
  void Keep(HostThread& me, Window& window, Record* r, const char* what, weft::Future<R> f,
            std::type_identity_t<Check<R>> check);
  // The final figures of a generation nothing refers to any more.
  void CheckGeneration(const Generation& g, bool hostile);
  template <typename R>
  void Now(HostThread& me, Record* r, const char* what, weft::Future<R> f,
           std::type_identity_t<Check<R>> check);
  void ResolveOne(HostThread& me, Rng& rng, Window& window);
  void DumpAndAbort(const char* why);
  void Progress(uint64_t op);

  const Config config_;
  const absl::Time end_;
  // Echo payloads are views of this (random bytes, a bit over the limit).
  std::vector<kj::byte> pattern_;
  uint64_t rotate_every_ = 0;
  uint64_t warm_index_ = 0;
  uint64_t progress_every_ = 0;
  const absl::Time start_ = absl::Now();

  std::optional<Pool> threads_;
  std::optional<Pool> processes_;
  Rotation doomed_;
  Rotation hostile_;

  std::vector<std::unique_ptr<HostThread>> hosts_;
  std::atomic<uint64_t> next_op_{0};   // ops claimed (calls and events)
  std::atomic<uint64_t> resolved_{0};  // outcomes seen
  std::atomic<int64_t> warm_rss_kib_{-1};
  std::mutex kill_mu_;
  std::atomic<uint64_t> kills_{0};
  std::atomic<uint64_t> hostile_kills_{0};
  std::atomic<uint64_t> kills_skipped_{0};
  std::atomic<uint64_t> doomed_rotations_{0};
  std::atomic<uint64_t> hostile_rotations_{0};
  std::atomic<uint64_t> post_shutdown_probes_{0};
  std::mutex generations_mu_;
  std::vector<std::string> generation_lines_;  // guarded by generations_mu_ (all four)
  uint64_t generations_checked_ = 0;
  uint64_t generation_slots_checked_ = 0;
  uint64_t generation_slots_unchecked_ = 0;
  Violations violations_;

  // The host threads meet here after their last op, before the barrier
  // calls (see Host).
  std::optional<std::latch> loops_done_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  int done_ = 0;  // host threads finished; guarded by done_mu_
};

template <typename R>
class PendingCall final : public Pending {
 public:
  PendingCall(Record* record, const char* what, weft::Future<R> future, Check<R> check,
              std::shared_ptr<Generation> keep = nullptr)
      : Pending(record, what),
        future_(std::move(future)),
        check_(std::move(check)),
        keep_(std::move(keep)) {}

  void Resolve(Soak& soak) override {
    {
      absl::StatusOr<weft::Response<R>> r = future_.Get();
      soak.Resolved(*record_, r.status(), what_);
      if (r.ok() && check_) {
        std::string problem;
        try {
          problem = check_(*r);
        } catch (const kj::Exception& e) {
          problem = absl::StrCat("reading an OK response threw: ", e.getDescription().cStr());
        }
        if (!problem.empty()) {
          soak.violations().Add(
              absl::StrCat(what_, " to ", TargetName(record_->target), ": a wrong OK result"),
              problem);
        }
      }
    }  // the Response gives its slot back here
    // Exactly once: the future is spent.
    absl::StatusOr<weft::Response<R>> again = future_.Get();
    if (again.status().code() != absl::StatusCode::kFailedPrecondition) {
      soak.violations().Add("a second Get() was not FailedPrecondition",
                            absl::StrCat(what_, " to ", TargetName(record_->target), ": ",
                                         again.status().ToString()));
    }
  }

 private:
  weft::Future<R> future_;
  Check<R> check_;
  std::shared_ptr<Generation> keep_;  // the generation called, if a rotating one
};

Soak::Soak(const Config& config)
    : config_(config),
      end_(config.seconds == 0 ? absl::InfiniteFuture()
                               : absl::Now() + absl::Seconds(config.seconds)) {
  Rng rng(config.seed);
  pattern_.resize(kMaxPayload + (16 << 10));
  for (kj::byte& b : pattern_) b = static_cast<kj::byte>(rng());
  // About 20 generations of each rotating pool in a long run, at least 3 in
  // a short one.
  rotate_every_ = std::clamp<uint64_t>(config.calls / 4, 100, 50'000);
  warm_index_ = std::min<uint64_t>(config.calls / 10, 5'000);
  progress_every_ = std::max<uint64_t>(config.calls / 20, 1'000);
}

// Host threads and workers outnumber the two cores several times over, so
// waiters spin briefly before they sleep (the default spins 4096 polls,
// which here mostly steals the CPU the awaited worker needs), and the
// sleep / wake paths get a workout. The doomed pool tries each of these.
const weft::SpinPolicy kSpins[] = {{256, 16}, {64, 4}, {0, 0}, weft::SpinPolicy()};

weft::PoolOptions BaseOptions(bool process, const char* binary, weft::SpinPolicy spin) {
  weft::PoolOptions o = process ? ProcOptions(1, binary) : weft::PoolOptions();
  o.max_payload_bytes = kMaxPayload;
  o.initial_payload_bytes = 1024;
  o.max_host_threads = 40;
  o.spin = spin;
  return o;
}

absl::StatusOr<std::shared_ptr<Generation>> Soak::MakeDoomed(int id, Rng& rng) {
  auto g = std::make_shared<Generation>();
  g->id = id;
  g->process = id % 2 == 1;  // thread and process workers in turn
  const weft::SpinPolicy spin = kSpins[rng() % 4];
  weft::PoolOptions o = BaseOptions(g->process, "proc_worker", spin);
  o.workers = static_cast<int>(Uniform(rng, 1, 2));
  o.balancer = static_cast<weft::BalancerKind>(Uniform(rng, 0, 4));
  o.slots_per_lane = rng() % 2 ? 8 : 64;
  o.abort_slots = rng() % 2 ? 4 : 64;
  g->fail_fast = rng() % 4 == 0;
  o.queue_full = g->fail_fast ? weft::QueueFull::kFail : weft::QueueFull::kWait;
  g->options =
      absl::StrCat(g->process ? "process" : "thread", " workers=", o.workers,
                   " balancer=", static_cast<int>(o.balancer), " slots_per_lane=", o.slots_per_lane,
                   " abort_slots=", o.abort_slots, " spin=", spin.spin_polls, "/", spin.yield_polls,
                   g->fail_fast ? " queue_full=kFail" : "");
  absl::StatusOr<Pool> pool =
      g->process ? Pool::Create(o) : Pool::Create(o, [] { return std::make_unique<ProcImpl>(); });
  if (!pool.ok()) return pool.status();
  g->pool.emplace(*std::move(pool));
  g->stub.emplace(g->pool->stub());
  return g;
}

absl::StatusOr<std::shared_ptr<Generation>> Soak::MakeHostile(int id) {
  auto g = std::make_shared<Generation>();
  g->id = id;
  g->process = true;
  weft::PoolOptions o = BaseOptions(true, "hostile_worker", kSpins[1]);
  g->options = "one hostile_worker";
  absl::StatusOr<Pool> pool = Pool::Create(o);
  if (!pool.ok()) return pool.status();
  g->pool.emplace(*std::move(pool));
  g->stub.emplace(g->pool->stub());
  return g;
}

absl::Status Soak::Start() {
  weft::PoolOptions t = BaseOptions(false, nullptr, kSpins[0]);
  t.workers = 2;
  t.balancer = weft::BalancerKind::kLeastBusy;
  t.abort_slots = 8;  // fewer than the host threads may hold: the budget runs out
  absl::StatusOr<Pool> threads = Pool::Create(t, [] { return std::make_unique<ProcImpl>(); });
  if (!threads.ok()) return threads.status();
  threads_.emplace(*std::move(threads));

  weft::PoolOptions p = BaseOptions(true, "proc_worker", kSpins[1]);
  p.workers = 2;
  // Round robin: the barrier at the end (see Host) relies on it.
  p.balancer = weft::BalancerKind::kRoundRobin;
  p.abort_slots = 32;
  absl::StatusOr<Pool> processes = Pool::Create(p);
  if (!processes.ok()) return processes.status();
  processes_.emplace(*std::move(processes));

  Rng rng(config_.seed ^ 0x5eed);
  absl::StatusOr<std::shared_ptr<Generation>> doomed = MakeDoomed(0, rng);
  if (!doomed.ok()) return doomed.status();
  doomed_.Add(*std::move(doomed));
  absl::StatusOr<std::shared_ptr<Generation>> hostile = MakeHostile(0);
  if (!hostile.ok()) return hostile.status();
  hostile_.Add(*std::move(hostile));
  return absl::OkStatus();
}

void Soak::Resolved(Record& r, const absl::Status& s, const char* what) {
  // Relaxed: read after the threads joined and the pools shut down.
  const uint32_t before = r.resolutions.fetch_add(1, std::memory_order_relaxed);
  r.code.store(static_cast<int>(s.code()), std::memory_order_relaxed);
  // Relaxed: progress for the watchdog.
  resolved_.fetch_add(1, std::memory_order_relaxed);
  if (before != 0) {
    violations_.Add("a call resolved more than once",
                    absl::StrCat(what, " to ", TargetName(r.target), " resolved ", before + 1,
                                 " times (now ", s.ToString(), ")"));
  }
  if (!Allowed(r, s)) {
    violations_.Add(absl::StrCat(what, " to ", TargetName(r.target), " ended ",
                                 absl::StatusCodeToString(s.code()), ", not allowed there"),
                    s.ToString());
  }
}

template <typename R>
void Soak::Keep(HostThread& me, Window& window, Record* r, const char* what, weft::Future<R> f,
                std::type_identity_t<Check<R>> check) {
  window.push_back(
      std::make_unique<PendingCall<R>>(r, what, std::move(f), std::move(check), me.calling));
}

template <typename R>
void Soak::Now(HostThread& me, Record* r, const char* what, weft::Future<R> f,
               std::type_identity_t<Check<R>> check) {
  // Relaxed: display only.
  me.activity.store(what, std::memory_order_relaxed);
  PendingCall<R>(r, what, std::move(f), std::move(check)).Resolve(*this);
  me.activity.store("choosing", std::memory_order_relaxed);
}

void Soak::ResolveOne(HostThread& me, Rng& rng, Window& window) {
  // Oldest first half the time, else any: futures are taken out of order.
  const size_t i = rng() % 2 ? 0 : rng() % window.size();
  std::unique_ptr<Pending> p = std::move(window[i]);
  window.erase(window.begin() + static_cast<ptrdiff_t>(i));
  // Relaxed: display only.
  me.activity.store(p->what(), std::memory_order_relaxed);
  p->Resolve(*this);
  me.activity.store("choosing", std::memory_order_relaxed);
}

// Results of square(v).
Check<ProcTest::SquareResults> SquareIs(int64_t v) {
  return [v](const weft::Response<ProcTest::SquareResults>& r) -> std::string {
    if (r.getResult() == v * v) return "";
    return absl::StrCat("square(", v, ") = ", r.getResult());
  };
}

Check<ProcTest::EchoResults> EchoOf(capnp::Data::Reader sent) {
  const uint64_t sum = Checksum(sent);
  const size_t size = sent.size();
  return [sum, size](const weft::Response<ProcTest::EchoResults>& r) -> std::string {
    if (r.getChecksum() != sum) return "echo: the worker's checksum differs from the data sent";
    if (r.getData().size() != size) return "echo: the data came back with another size";
    if (Checksum(r.getData()) != sum) return "echo: the data came back changed";
    return "";
  };
}

void Soak::Call(HostThread& me, Rng& rng, Window& window, Target target, weft::Stub<ProcTest>& stub,
                bool fail_fast, bool process) {
  const Op op = static_cast<Op>(me.ops(rng));
  Record* r = NewRecord(me, op, target, fail_fast);
  const char* what = OpName(op);
  const int64_t v = static_cast<int64_t>(Uniform(rng, 0, 2'000'000)) - 1'000'000;
  switch (op) {
    case Op::kSquare:
      Keep(me, window, r, what, stub.square(v), SquareIs(v));
      break;
    case Op::kEcho: {
      // Mostly inline (initial_payload_bytes = 1024), some spilled to the
      // heap. Inline ones are kept in the window; spilled ones are waited
      // for at once, so that a lane never has two large responses in
      // flight (kEchoBurst does that, and why it matters is there).
      const uint64_t roll = rng() % 100;
      const size_t size = roll < 70   ? Uniform(rng, 0, 900)
                          : roll < 95 ? Uniform(rng, 1'000, 32'000)
                                      : Uniform(rng, 32'000, 200'000);
      const capnp::Data::Reader data(pattern_.data() + rng() % 4096, size);
      if (size <= 900) {
        Keep(me, window, r, what, stub.echo(data), EchoOf(data));
      } else {
        Now(me, r, what, stub.echo(data), EchoOf(data));
      }
      break;
    }
    case Op::kPid: {
      // A thread worker runs in this process; a process worker in a child.
      Check<ProcTest::PidResults> check =
          [process](const weft::Response<ProcTest::PidResults>& p) -> std::string {
        const bool self = p.getPid() == getpid();
        if (process ? (p.getPid() <= 0 || self) : !self) {
          return absl::StrCat("pid() = ", p.getPid(), " (this process is ", getpid(), ")");
        }
        return "";
      };
      Keep(me, window, r, what, stub.pid(), std::move(check));
      break;
    }
    case Op::kThen:
      stub.square(v).Then([this, r, v, keep = me.calling](
                              absl::StatusOr<weft::Response<ProcTest::SquareResults>> s) {
        Resolved(*r, s.status(), "then");
        if (s.ok() && s->getResult() != v * v) {
          violations_.Add("then: a wrong OK result",
                          absl::StrCat("square(", v, ") = ", s->getResult()));
        }
      });
      break;
    case Op::kAbort: {
      auto f = stub.spin(kForever);
      // Give the worker a moment to start it (or not): a few polls.
      for (uint64_t polls = rng() % 64; polls > 0 && !f.Ready(); --polls) {
      }
      f.Abort();
      Keep(me, window, r, what, std::move(f), Check<ProcTest::SpinResults>());
      break;
    }
    case Op::kDeadlineSpin:
    case Op::kDeadlineDefault:
    case Op::kDeadlineCustom: {
      weft::CallOptions options{.timeout = absl::Microseconds(Uniform(rng, 100, 3'000))};
      if (op == Op::kDeadlineDefault) options.on_timeout = weft::OnTimeout::DefaultResult();
      if (op == Op::kDeadlineCustom) options.on_timeout = weft::OnTimeout::Return(CustomTimeout());
      Check<ProcTest::SpinResults> check =
          [](const weft::Response<ProcTest::SpinResults>& s) -> std::string {
        return s.getReached() == 0 ? "" : "a default result with reached != 0";
      };
      // Waited for at once, not kept in the window: the worker is told that
      // the deadline passed only when a host thread waits on this very
      // future (runtime defect, see runtime_defects_test.cc,
      // AnExpiredDeadlineIsNotSeenByTheWorkerUntilTheHostWaits). A spin kept
      // unresolved would hold its worker, and other threads' calls queued
      // behind it, until this thread came back to it; two threads doing so
      // to each other's calls would deadlock.
      Now(me, r, what, stub.spin(kForever, options), std::move(check));
      break;
    }
    case Op::kDeadlineSquare: {
      const weft::CallOptions options{.timeout = absl::Microseconds(Uniform(rng, 20, 2'000))};
      Keep(me, window, r, what, stub.square(v, options), SquareIs(v));
      break;
    }
    case Op::kOversized: {
      const size_t size = kMaxPayload + Uniform(rng, 1, 8'192);
      Keep(me, window, r, what, stub.echo(capnp::Data::Reader(pattern_.data(), size)),
           Check<ProcTest::EchoResults>());
      break;
    }
    case Op::kNearLimit: {
      const capnp::Data::Reader data(pattern_.data(), kMaxPayload - Uniform(rng, 0, 512));
      Now(me, r, what, stub.echo(data), EchoOf(data));
      break;
    }
    case Op::kEchoBurst: {
      // 2 to 4 responses of 48 to 160 KiB in flight on this lane at once.
      std::vector<std::pair<Record*, weft::Future<ProcTest::EchoResults>>> burst;
      std::vector<capnp::Data::Reader> sent;
      const uint64_t n = Uniform(rng, 2, 4);
      for (uint64_t k = 0; k < n; ++k) {
        sent.emplace_back(pattern_.data() + rng() % 4096, Uniform(rng, 48 << 10, 160 << 10));
        burst.emplace_back(k == 0 ? r : NewRecord(me, op, target, fail_fast), stub.echo(sent[k]));
      }
      for (uint64_t k = 0; k < n; ++k) {
        Now(me, burst[k].first, what, std::move(burst[k].second), EchoOf(sent[k]));
      }
      break;
    }
    case Op::kDrop:
      // Abandoned: the runtime resolves it Cancelled internally and nobody
      // sees the outcome; its record must stay unresolved.
      if (rng() % 2) {
        auto dropped = stub.spin(kForever);
      } else {
        auto dropped = stub.square(v);
      }
      break;
    default:
      break;
  }
}

void Soak::HostileCall(HostThread& me, Rng& rng, Window& window,
                       const std::shared_ptr<Generation>& g) {
  // Acquire: pairs with the release store after Shutdown returned.
  const bool closed = g->closed.load(std::memory_order_acquire);
  const Target target = closed ? Target::kHostileClosed : Target::kHostile;
  weft::Stub<ProcTest>& stub = *g->stub;
  me.calling = g;
  // Short deadlines: a hostile worker may never answer.
  const weft::CallOptions bounded{.timeout = absl::Milliseconds(20)};
  const uint64_t roll = rng() % 100;
  if (roll == 0) {
    Record* r = NewRecord(me, Op::kScribble, target, false);
    Keep(me, window, r, "scribble", stub.scribble(weft::CallOptions{.timeout = absl::Seconds(1)}),
         Check<ProcTest::ScribbleResults>());
  } else if (roll == 1) {
    Record* r = NewRecord(me, Op::kPoison, target, false);
    Keep(me, window, r, "poison", stub.poison(weft::CallOptions{.timeout = absl::Seconds(1)}),
         Check<ProcTest::PoisonResults>());
  } else if (roll % 2 == 0) {
    Record* r = NewRecord(me, Op::kSquare, target, false);
    const int64_t v = static_cast<int64_t>(rng() % 1000);
    // Whatever it answers, reading it must be safe (no throw, no fault).
    Check<ProcTest::SquareResults> read = [](const weft::Response<ProcTest::SquareResults>& s) {
      volatile int64_t sink = s.getResult();
      (void)sink;
      return std::string();
    };
    Keep(me, window, r, "hostile square", stub.square(v, bounded), std::move(read));
  } else {
    Record* r = NewRecord(me, Op::kEcho, target, false);
    const capnp::Data::Reader data(pattern_.data(), rng() % 2 ? rng() % 900 : rng() % 20'000);
    Check<ProcTest::EchoResults> read = [](const weft::Response<ProcTest::EchoResults>& e) {
      volatile uint64_t sink = Checksum(e.getData()) + e.getChecksum();
      (void)sink;
      return std::string();
    };
    Keep(me, window, r, "hostile echo", stub.echo(data, bounded), std::move(read));
  }
  me.calling.reset();
}

// The parent of `pid` per /proc/<pid>/stat, or -1.
pid_t ParentOf(pid_t pid) {
  FILE* f = std::fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buffer[1024];
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, f);
  std::fclose(f);
  buffer[n] = '\0';
  const char* paren = std::strrchr(buffer, ')');
  if (paren == nullptr) return -1;
  char state = 0;
  int ppid = -1;
  if (std::sscanf(paren + 1, " %c %d", &state, &ppid) != 2) return -1;
  return ppid;
}

void Soak::Kill(Rng& rng) {
  // One kill at a time, each seen through (below).
  std::lock_guard<std::mutex> lock(kill_mu_);
  // Mostly the processes pool; now and then the hostile worker (which ends
  // a scribbler that would otherwise burn a core until its pool is replaced).
  const bool hostile = rng() % 5 == 0;
  std::shared_ptr<Generation> generation = hostile ? hostile_.Current() : nullptr;
  Pool& pool = hostile ? *generation->pool : *processes_;
  const weft::PoolStats stats = pool.Stats();
  const size_t w = rng() % stats.workers.size();
  const pid_t pid = stats.workers[w].pid;
  // Only a worker that is up: one killed while starting counts as a failed
  // start, and enough of those in a row give the worker up. The parent check
  // guards against a recycled pid.
  if (!stats.workers[w].up || pid <= 0 || ParentOf(pid) != getpid() || kill(pid, SIGKILL) != 0) {
    // Relaxed: a counter for the report.
    kills_skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Relaxed: counters for the report (and for Finish, after the joins).
  (hostile ? hostile_kills_ : kills_).fetch_add(1, std::memory_order_relaxed);
  // Seen through: wait until the pool noticed the death (its pid changes),
  // so that a later kill cannot hit this dying process again and count it
  // twice. Bounded, so that a death never noticed fails instead of hanging.
  if (!PollUntil([&] { return pool.Stats().workers[w].pid != pid; }, absl::Seconds(30))) {
    violations_.Add("a SIGKILLed worker's death was not noticed within 30 s",
                    absl::StrCat(hostile ? "hostile" : "processes", " worker ", w, " pid ", pid));
  }
}

void Soak::Rotate(HostThread& me, Rng& rng, bool hostile) {
  Rotation& rotation = hostile ? hostile_ : doomed_;
  for (const std::shared_ptr<Generation>& g : rotation.TakeIdle()) CheckGeneration(*g, hostile);
  const std::shared_ptr<Generation> old = rotation.Current();
  absl::StatusOr<std::shared_ptr<Generation>> next =
      hostile ? MakeHostile(old->id + 1) : MakeDoomed(old->id + 1, rng);
  if (!next.ok()) {
    violations_.Add(
        "creating a new generation failed",
        absl::StrCat("generation ", old->id + 1, " of the ", hostile ? "hostile" : "doomed",
                     " pool: ", next.status().ToString()));
    return;
  }
  rotation.Add(*next);
  // Shut down while the other host threads may still be calling it.
  // Relaxed: display only.
  me.activity.store(hostile ? "Shutdown(hostile)" : "Shutdown(doomed)", std::memory_order_relaxed);
  const uint64_t mode = rng() % 4;
  if (mode == 0) {
    // Bounded by its grace; a thread still in a call past it is reported,
    // which a soak in the middle of traffic allows.
    old->pool->Shutdown(weft::ShutdownMode::kCancelPending).IgnoreError();
  } else {
    // Drain: without a limit (not for a hostile worker, which may never
    // answer), with none, or with a short one.
    const absl::Duration grace = mode == 1 && !hostile ? absl::InfiniteDuration()
                                 : mode == 2           ? absl::ZeroDuration()
                                                       : absl::Milliseconds(2);
    old->pool->Shutdown(weft::ShutdownMode::kDrain, grace).IgnoreError();  // as above
  }
  // Release: pairs with the acquire loads before calls.
  old->closed.store(true, std::memory_order_release);
  // New calls must be Unavailable, whatever they are.
  const Target closed = hostile ? Target::kHostileClosed : Target::kDoomedClosed;
  weft::Stub<ProcTest>& stub = *old->stub;
  Now(me, NewRecord(me, Op::kSquare, closed, false), "square after shutdown", stub.square(3),
      Check<ProcTest::SquareResults>());
  Now(me, NewRecord(me, Op::kEcho, closed, false), "echo after shutdown",
      stub.echo(capnp::Data::Reader(pattern_.data(), 2'000)), Check<ProcTest::EchoResults>());
  Now(me, NewRecord(me, Op::kOversized, closed, false), "oversized after shutdown",
      stub.echo(capnp::Data::Reader(pattern_.data(), kMaxPayload + 1)),
      Check<ProcTest::EchoResults>());
  {
    auto f = stub.spin(kForever);
    f.Abort();
    Now(me, NewRecord(me, Op::kAbort, closed, false), "abort after shutdown", std::move(f),
        Check<ProcTest::SpinResults>());
  }
  // Relaxed (all three): counters for the report.
  post_shutdown_probes_.fetch_add(4, std::memory_order_relaxed);
  (hostile ? hostile_rotations_ : doomed_rotations_).fetch_add(1, std::memory_order_relaxed);
}

void Soak::Host(int index) {
  HostThread& me = *hosts_[index];
  Rng rng(config_.seed * 1'000'003 + static_cast<uint64_t>(index));
  weft::Stub<ProcTest> threads = threads_->stub();
  weft::Stub<ProcTest> processes = processes_->stub();
  Window window;
  size_t window_limit = 8;
  // The last generations this thread called: it keeps calling them after
  // they were replaced (and shut down).
  std::shared_ptr<Generation> seen_doomed = doomed_.Current();
  std::shared_ptr<Generation> stale_doomed;
  std::shared_ptr<Generation> seen_hostile = hostile_.Current();
  std::shared_ptr<Generation> stale_hostile;
  for (;;) {
    // Relaxed: a ticket; each op index is claimed by one thread.
    const uint64_t i = next_op_.fetch_add(1, std::memory_order_relaxed);
    if (i >= config_.calls || absl::Now() >= end_) break;
    if (i > 0 && i % progress_every_ == 0) Progress(i);
    if (i == warm_index_) {
      // Relaxed: read after the threads joined.
      warm_rss_kib_.store(StatusKib("VmRSS"), std::memory_order_relaxed);
    }
    if (i % 512 == 0) window_limit = 1 + rng() % 16;
    if (i % rotate_every_ == rotate_every_ / 2) {
      Rotate(me, rng, /*hostile=*/false);
      continue;
    }
    if (i > 0 && i % rotate_every_ == 0) {
      Rotate(me, rng, /*hostile=*/true);
      continue;
    }
    std::shared_ptr<Generation> doomed = doomed_.Current();
    if (doomed != seen_doomed) stale_doomed = std::exchange(seen_doomed, doomed);
    std::shared_ptr<Generation> hostile = hostile_.Current();
    if (hostile != seen_hostile) stale_hostile = std::exchange(seen_hostile, hostile);
    switch (me.events(rng)) {
      case 0:
        me.activity.store("kill", std::memory_order_relaxed);  // relaxed: display only
        Kill(rng);
        break;
      case 1:
        HostileCall(me, rng, window, hostile);
        break;
      case 2: {
        if (stale_hostile != nullptr && rng() % 4 == 0) {
          HostileCall(me, rng, window, stale_hostile);
          break;
        }
        if (stale_doomed == nullptr) break;
        // Acquire: pairs with the release store after Shutdown returned.
        const bool closed = stale_doomed->closed.load(std::memory_order_acquire);
        me.calling = stale_doomed;
        Call(me, rng, window, closed ? Target::kDoomedClosed : Target::kDoomed, *stale_doomed->stub,
             stale_doomed->fail_fast, stale_doomed->process);
        me.calling.reset();
        break;
      }
      case 3:
        Call(me, rng, window, Target::kThreads, threads, false, false);
        break;
      case 4:
        Call(me, rng, window, Target::kProcesses, processes, false, true);
        break;
      default: {
        // Acquire: as above.
        const bool closed = doomed->closed.load(std::memory_order_acquire);
        me.calling = doomed;
        Call(me, rng, window, closed ? Target::kDoomedClosed : Target::kDoomed, *doomed->stub,
             doomed->fail_fast, doomed->process);
        me.calling.reset();
        break;
      }
    }
    while (window.size() > window_limit) ResolveOne(me, rng, window);
  }
  while (!window.empty()) ResolveOne(me, rng, window);
  // The barrier. A call resolved early (aborted, timed out, dropped) may
  // still be queued for its worker; a process worker stopped at shutdown
  // exits without serving what is left in its rings, and then the slots of
  // such calls are never given back (runtime defect, see
  // runtime_defects_test.cc, SlotsOfCallsAProcessWorkerNeverServedStayInUse).
  // So, once no thread sends or kills any more, each thread sends one call
  // to each worker of the processes pool on its own lane and waits for it:
  // rings are FIFO, so everything queued before on the lane has been served,
  // and after Shutdown every slot of that pool must be free.
  me.activity.store("at the barrier", std::memory_order_relaxed);  // relaxed: display only
  loops_done_->arrive_and_wait();
  for (int64_t k = 0; k < 2; ++k) {  // round robin: one call for each of the two workers
    Now(me, NewRecord(me, Op::kSquare, Target::kProcesses, false), "barrier square",
        processes.square(k), SquareIs(k));
  }
  me.activity.store("done", std::memory_order_relaxed);  // relaxed: display only
  std::lock_guard<std::mutex> lock(done_mu_);
  ++done_;
  done_cv_.notify_all();
}

void Soak::DumpAndAbort(const char* why) {
  std::fprintf(stderr, "\nWATCHDOG: %s\n", why);
  for (size_t i = 0; i < hosts_.size(); ++i) {
    // Relaxed: display only.
    std::fprintf(stderr, "  host thread %zu: %s\n", i,
                 hosts_[i]->activity.load(std::memory_order_relaxed));
  }
  auto print = [](const char* name, const weft::PoolStats& s) {
    for (size_t w = 0; w < s.workers.size(); ++w) {
      const weft::WorkerStats& x = s.workers[w];
      std::fprintf(stderr,
                   "  %s worker %zu: pid %d up %d failed %d started %llu served %llu slots %u\n",
                   name, w, x.pid, x.up, x.failed, static_cast<unsigned long long>(x.calls_started),
                   static_cast<unsigned long long>(x.calls_served), x.slots_in_use);
    }
  };
  print("threads", threads_->Stats());
  print("processes", processes_->Stats());
  print("doomed", doomed_.Current()->pool->Stats());
  print("hostile", hostile_.Current()->pool->Stats());
  std::fflush(stderr);
  std::abort();
}

// A line for whoever watches a long run.
void Soak::Progress(uint64_t op) {
  // Relaxed (all): counters for display.
  std::printf(
      "soak: progress: op %llu at %.0f s: %llu outcomes, %llu kills, %llu + %llu "
      "shutdowns, %llu violations, RSS %s\n",
      static_cast<unsigned long long>(op), absl::ToDoubleSeconds(absl::Now() - start_),
      static_cast<unsigned long long>(resolved_.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(kills_.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(doomed_rotations_.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(hostile_rotations_.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(violations_.count()), Mib(StatusKib("VmRSS")).c_str());
  std::fflush(stdout);
}

void Soak::Run() {
  for (int i = 0; i < config_.threads; ++i) hosts_.push_back(std::make_unique<HostThread>());
  loops_done_.emplace(config_.threads);
  std::vector<std::thread> threads;
  for (int i = 0; i < config_.threads; ++i) threads.emplace_back([this, i] { Host(i); });
  // The watchdog (a "did not hang" check, nothing else): progress is any op
  // claimed or any call resolved.
  const absl::Duration stall = absl::Seconds(config_.stall_seconds);
  uint64_t last_progress = ~0ull;
  absl::Time last_change = absl::Now();
  std::unique_lock<std::mutex> lock(done_mu_);
  while (
      !done_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return done_ == config_.threads; })) {
    // Relaxed (both): progress counters.
    const uint64_t progress =
        next_op_.load(std::memory_order_relaxed) + resolved_.load(std::memory_order_relaxed);
    if (progress != last_progress) {
      last_progress = progress;
      last_change = absl::Now();
    } else if (absl::Now() - last_change > stall) {
      DumpAndAbort(absl::StrCat("no progress for ", absl::FormatDuration(stall)).c_str());
    }
  }
  lock.unlock();
  for (std::thread& t : threads) t.join();
}

// Slots in use per worker, e.g. "[0, 3]".
std::string Slots(const weft::PoolStats& s, uint64_t* total) {
  std::vector<std::string> parts;
  *total = 0;
  for (const weft::WorkerStats& w : s.workers) {
    parts.push_back(absl::StrCat(w.slots_in_use));
    *total += w.slots_in_use;
  }
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

void Soak::CheckGeneration(const Generation& g, bool hostile) {
  // Which pools must have every call slot free once shut down: thread
  // pools (Shutdown joins the workers once they served everything queued).
  // Not, today, pools of process workers shut down in the middle of
  // traffic: a process worker stopped by Shutdown exits without serving
  // what is left in its rings, and the slots of calls resolved early that
  // it never served stay in use (runtime defect, see
  // runtime_defects_test.cc, SlotsOfCallsAProcessWorkerNeverServedStayInUse);
  // their counts are printed. Abort slots: none held, in every pool.
  const weft::PoolStats s = g.pool->Stats();
  uint64_t n = 0;
  const std::string slots = Slots(s, &n);
  const bool must_be_free = !hostile && !g.process;
  std::lock_guard<std::mutex> lock(generations_mu_);
  generation_lines_.push_back(absl::StrCat(hostile ? "hostile#" : "doomed#", g.id, " (", g.options,
                                           "): slots in use ", slots,
                                           must_be_free ? "" : " (not required: defect)",
                                           ", abort slots in use ", s.abort_slots_in_use));
  ++generations_checked_;
  (must_be_free ? generation_slots_checked_ : generation_slots_unchecked_) += n;
  if (must_be_free && n != 0) {
    violations_.Add("a thread pool shut down with call slots in use", generation_lines_.back());
  }
  if (s.abort_slots_in_use != 0) {
    violations_.Add("a pool shut down with abort slots in use", generation_lines_.back());
  }
}

void Soak::Finish() {
  std::printf("soak: pool checks\n");
  // Every kill was of a worker that was up; its replacement boots (and
  // counts itself in `restarts`) before it is up. Wait for the last ones.
  // Bounded: a replacement that never comes fails here instead of hanging.
  const bool all_up = PollUntil(
      [&] {
        for (const weft::WorkerStats& w : processes_->Stats().workers) {
          if (!w.up) return false;
        }
        return true;
      },
      absl::Seconds(60));
  EXPECT_TRUE(all_up) << "a killed process worker was not replaced within 60 s";
  uint64_t restarts = 0;
  for (const weft::WorkerStats& w : processes_->Stats().workers) {
    restarts += w.restarts;
    EXPECT_FALSE(w.failed) << "a process worker was given up: " << w.last_exit;
  }
  // Relaxed: the host threads joined.
  const uint64_t kills = kills_.load(std::memory_order_relaxed);
  std::printf("soak: invariant replacements: processes pool: kills %llu, restarts %llu\n",
              static_cast<unsigned long long>(kills), static_cast<unsigned long long>(restarts));
  EXPECT_EQ(restarts, kills) << "every SIGKILLed worker is replaced, once";

  // Every call has resolved and every Response is gone. An abort slot is
  // given back when its call resolves: none may be held. A call slot of a
  // call resolved early is given back once its worker is done with it, and
  // today that happens lazily — when the lane runs out of free slots, or at
  // Shutdown (runtime defect, see runtime_defects_test.cc,
  // ASlotOfACallResolvedEarlyStaysInUseAfterTheWorkerFinished) — so before
  // Shutdown the count is printed, not required to be 0. After Shutdown it
  // must be 0 for the threads pool, and for the processes pool thanks to
  // the barrier (see Host).
  const std::vector<std::pair<const char*, Pool*>> fixed = {{"threads", &*threads_},
                                                            {"processes", &*processes_}};
  uint64_t before_total = 0;
  for (const auto& [name, pool] : fixed) {
    const weft::PoolStats s = pool->Stats();
    uint64_t n = 0;
    const std::string slots = Slots(s, &n);
    before_total += n;
    std::printf("soak:   %s before Shutdown: slots in use %s, abort slots in use %u\n", name,
                slots.c_str(), s.abort_slots_in_use);
    EXPECT_EQ(s.abort_slots_in_use, 0u) << name;
  }
  {
    Watchdog wd("shutting down every pool", absl::Seconds(120));
    EXPECT_TRUE(threads_->Shutdown().ok());
    EXPECT_TRUE(processes_->Shutdown().ok());
    EXPECT_TRUE(doomed_.Current()->pool->Shutdown().ok());
    // A hostile worker may never answer: its drain may end at the grace.
    hostile_.Current()->pool->Shutdown(weft::ShutdownMode::kDrain, absl::Seconds(1)).IgnoreError();
  }
  uint64_t after_total = 0;
  for (const auto& [name, pool] : fixed) {
    const weft::PoolStats s = pool->Stats();
    uint64_t n = 0;
    const std::string slots = Slots(s, &n);
    after_total += n;
    std::printf("soak:   %s after Shutdown: slots in use %s, abort slots in use %u\n", name,
                slots.c_str(), s.abort_slots_in_use);
    EXPECT_EQ(n, 0u) << name << ": call slots in use after Shutdown";
    EXPECT_EQ(s.abort_slots_in_use, 0u) << name;
  }
  // The rotating pools: every generation not checked yet (the host threads
  // are gone, so nothing refers to any of them any more).
  {
    Watchdog wd("destroying the rotating pools", absl::Seconds(120));
    for (const auto& g : doomed_.TakeAll()) CheckGeneration(*g, false);
    for (const auto& g : hostile_.TakeAll()) CheckGeneration(*g, true);
  }
  std::lock_guard<std::mutex> lock(generations_mu_);
  for (const std::string& line : generation_lines_) std::printf("soak:   %s\n", line.c_str());
  std::printf(
      "soak: invariant slots: threads and processes pools: in use before Shutdown %llu (lazy "
      "reclaim, defect), after %llu; %llu generations of the rotating pools, shut down: in use "
      "in thread pools %llu, in the others %llu (not required: defect)\n",
      static_cast<unsigned long long>(before_total), static_cast<unsigned long long>(after_total),
      static_cast<unsigned long long>(generations_checked_),
      static_cast<unsigned long long>(generation_slots_checked_),
      static_cast<unsigned long long>(generation_slots_unchecked_));
}

void Soak::Release() {
  Watchdog wd("destroying the threads and processes pools", absl::Seconds(120));
  threads_.reset();
  processes_.reset();
}

void Soak::Report(double wall_seconds) {
  constexpr int kCodes = 17;
  constexpr int kTargets = static_cast<int>(Target::kCount);
  constexpr int kOps = static_cast<int>(Op::kCount);
  std::array<std::array<uint64_t, kCodes>, kTargets> by_target{};
  std::array<uint64_t, kCodes> by_code{};
  std::array<uint64_t, kOps> by_op{};
  std::array<std::array<uint64_t, kCodes>, kOps> op_codes{};
  uint64_t calls = 0, once = 0, never = 0, more = 0, dropped = 0, dropped_resolved = 0;
  for (const auto& host : hosts_) {
    for (const Record& r : host->records) {
      ++calls;
      ++by_op[static_cast<int>(r.op)];
      // Relaxed: every writer is done (threads joined, pools shut down).
      const uint32_t n = r.resolutions.load(std::memory_order_relaxed);
      if (r.op == Op::kDrop) {
        ++dropped;
        if (n != 0) ++dropped_resolved;
        continue;
      }
      if (n == 0) ++never;
      if (n == 1) ++once;
      if (n > 1) ++more;
      const int code = r.code.load(std::memory_order_relaxed);
      if (code >= 0 && code < kCodes) {
        ++by_code[code];
        ++by_target[static_cast<int>(r.target)][code];
        ++op_codes[static_cast<int>(r.op)][code];
      }
    }
  }
  auto u = [](uint64_t x) { return static_cast<unsigned long long>(x); };
  auto codes = [&](const std::array<uint64_t, kCodes>& counts) {
    std::vector<std::string> parts;
    for (int c = 0; c < kCodes; ++c) {
      if (counts[c] == 0) continue;
      parts.push_back(
          absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(c)), " ", counts[c]));
    }
    return absl::StrJoin(parts, ", ");
  };
  const uint64_t deadlines =
      by_op[static_cast<int>(Op::kDeadlineSpin)] + by_op[static_cast<int>(Op::kDeadlineDefault)] +
      by_op[static_cast<int>(Op::kDeadlineCustom)] + by_op[static_cast<int>(Op::kDeadlineSquare)];
  uint64_t hostile_calls = 0;
  for (int c = 0; c < kCodes; ++c) {
    hostile_calls += by_target[static_cast<int>(Target::kHostile)][c] +
                     by_target[static_cast<int>(Target::kHostileClosed)][c];
  }
  std::printf("soak: ---- results (seed %llu) ----\n", u(config_.seed));
  std::printf("soak: wall time %.1f s, host threads %d, ops claimed %llu\n", wall_seconds,
              config_.threads, u(std::min(next_op_.load(), config_.calls)));
  std::printf(
      "soak: calls %llu: kills %llu (+ %llu of the hostile worker; skipped, worker not "
      "up: %llu), aborts %llu, deadlines %llu, oversized %llu, near-limit %llu, hostile "
      "calls %llu (scribble %llu, poison %llu), dropped %llu, then %llu\n",
      u(calls), u(kills_.load()), u(hostile_kills_.load()), u(kills_skipped_.load()),
      u(by_op[static_cast<int>(Op::kAbort)]), u(deadlines),
      u(by_op[static_cast<int>(Op::kOversized)]), u(by_op[static_cast<int>(Op::kNearLimit)]),
      u(hostile_calls), u(by_op[static_cast<int>(Op::kScribble)]),
      u(by_op[static_cast<int>(Op::kPoison)]), u(dropped), u(by_op[static_cast<int>(Op::kThen)]));
  std::printf(
      "soak: doomed pool shut down mid-traffic %llu times, hostile pool %llu times; "
      "probes right after shutdown %llu\n",
      u(doomed_rotations_.load()), u(hostile_rotations_.load()), u(post_shutdown_probes_.load()));
  for (int op = 0; op < kOps; ++op) {
    std::printf("soak:   op %-24s %7llu  %s\n", OpName(static_cast<Op>(op)), u(by_op[op]),
                codes(op_codes[op]).c_str());
  }
  std::printf("soak: statuses, all calls: %s\n", codes(by_code).c_str());
  for (int t = 0; t < kTargets; ++t) {
    std::printf("soak:   %-20s %s\n", TargetName(static_cast<Target>(t)),
                codes(by_target[t]).c_str());
  }
  std::printf(
      "soak: invariant exactly-once: resolved once %llu, never %llu, more than once %llu "
      "(of %llu not dropped); dropped %llu, of which resolved %llu\n",
      u(once), u(never), u(more), u(calls - dropped), u(dropped), u(dropped_resolved));
  std::printf("soak: invariant allowed statuses, OK values, second Get(): %llu violation(s)\n",
              u(violations_.count()));
  EXPECT_EQ(never, 0u) << "calls whose Get() never returned";
  EXPECT_EQ(more, 0u) << "calls resolved more than once";
  EXPECT_EQ(dropped_resolved, 0u);
  EXPECT_EQ(once, calls - dropped);
  EXPECT_EQ(violations_.count(), 0u) << violations_.Describe();
  EXPECT_GT(kills_.load(), 0u) << "the run was too short to kill a worker";
  EXPECT_GT(doomed_rotations_.load(), 0u) << "the run was too short to shut a pool down";
}

TEST(Soak, ChaosTrafficResolvesEveryCallOnceAndLeavesNothingBehind) {
  const Config config = ConfigFromEnv();
  std::printf(
      "soak: seed %llu (WEFT_SOAK_SEED), calls %llu (WEFT_SOAK_CALLS), seconds %llu "
      "(WEFT_SOAK_SECONDS, 0 = no limit), host threads %d, watchdog %llu s\n",
      static_cast<unsigned long long>(config.seed), static_cast<unsigned long long>(config.calls),
      static_cast<unsigned long long>(config.seconds), config.threads,
      static_cast<unsigned long long>(config.stall_seconds));
  std::fflush(stdout);
  // What is made once per process stays, and is not the soak's to count:
  // TSan's runtime, for one, starts a background thread when the program
  // makes its first thread. One small pool of each kind first.
  for (const bool process : {false, true}) {
    weft::PoolOptions o = BaseOptions(process, "proc_worker", kSpins[0]);
    absl::StatusOr<Pool> pool =
        process ? Pool::Create(o) : Pool::Create(o, [] { return std::make_unique<ProcImpl>(); });
    ASSERT_TRUE(pool.ok()) << pool.status();
    ASSERT_TRUE(pool->stub().square(2).Get().ok());
  }
  const Census before = TakeCensus();
  const absl::Time start = absl::Now();
  int64_t warm_kib = -1;
  {
    Soak soak(config);
    const absl::Status started = soak.Start();
    ASSERT_TRUE(started.ok()) << started;
    soak.Run();
    const double wall = absl::ToDoubleSeconds(absl::Now() - start);
    soak.Finish();
    soak.Release();
    soak.Report(wall);
    warm_kib = soak.warm_rss_kib();
  }  // the records go here

  // Bounded waits: the workers were reaped by Shutdown; a zombie or a late
  // thread exit would show here.
  PollUntil([&] { return NewChildren(before.children, Children()).empty(); }, absl::Seconds(5));
  PollUntil([&] { return ThreadCount() == before.threads; }, absl::Seconds(5));
  const Census after = TakeCensus();
  const std::vector<std::string> children = NewChildren(before.children, after.children);
  std::string ignored;
  const std::set<std::string> left = ShmNamesLeftBehind(before.shm, &ignored);
  std::printf("soak: invariant children: %zu left (%zu before the soak)\n", children.size(),
              before.children.size());
  std::printf("soak: invariant fds: %d before, %d after\n", before.fds, after.fds);
  std::printf("soak: invariant threads: %d before, %d after\n", before.threads, after.threads);
  std::printf("soak: invariant /dev/shm: %zu weft name(s) left%s%s\n", left.size(),
              ignored.empty() ? "" : "; ", ignored.c_str());
  std::printf(
      "soak: invariant RSS: %s at start, %s after warm-up, %s at the end, peak %s; "
      "bound: warm-up + %s\n",
      Mib(before.rss_kib).c_str(), Mib(warm_kib).c_str(), Mib(after.rss_kib).c_str(),
      Mib(after.hwm_kib).c_str(), Mib(kRssBoundKib).c_str());
  std::printf("soak: total wall time %.1f s\n", absl::ToDoubleSeconds(absl::Now() - start));
  std::fflush(stdout);
  EXPECT_TRUE(children.empty()) << absl::StrJoin(children, "; ");
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_EQ(after.threads, before.threads);
  EXPECT_TRUE(left.empty()) << Describe(left);
  ASSERT_GT(warm_kib, 0);
  EXPECT_LE(after.rss_kib, warm_kib + kRssBoundKib);
  EXPECT_LE(after.hwm_kib, warm_kib + kRssBoundKib);
}

}  // namespace
}  // namespace weft_test
