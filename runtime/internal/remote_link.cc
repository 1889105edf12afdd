#include "runtime/internal/remote_link.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "capnp/message.h"
#include "capnp/rpc-twoparty.h"
#include "capnp/serialize.h"
#include "kj/async-io.h"
#include "kj/async-unix.h"
#include "kj/timer.h"
#include "runtime/internal/lane_worker.h"
#include "runtime/internal/rpc_status.h"
#include "runtime/internal/rpc_transport.h"
#include "runtime/internal/slot.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

kj::Duration ToKj(absl::Duration d) {
  return absl::ToInt64Nanoseconds(std::max(d, absl::ZeroDuration())) * kj::NANOSECONDS;
}

// While abortable calls are in flight and the loop sleeps, it looks at their
// abort words this often (the host does not wake a worker to abort).
constexpr absl::Duration kAbortPoll = absl::Milliseconds(1);

class IgnoreErrors final : public kj::TaskSet::ErrorHandler {
 public:
  // Every task answers its own failure (Finish); nothing reaches here.
  void taskFailed(kj::Exception&&) override {}
};

}  // namespace

// Everything that lives on the worker's thread and its event loop.
class RemoteLink::Loop {
 public:
  Loop(RemoteLink& link)
      : link_(link),
        header_(link.region_->header()),
        geometry_(link.region_->geometry()),
        io_(kj::setupAsyncIo()),
        wake_(io_.unixEventPort, link.wake_fd_, kj::UnixEventPort::FdObserver::OBSERVE_READ) {
    lanes_.resize(geometry_.lanes);
    in_flight_.resize(uint64_t{geometry_.lanes} * geometry_.slots_per_lane);
    // Relaxed: this thread is now the counters' only writer.
    calls_started_ = header_->calls_started.load(std::memory_order_relaxed);
    calls_served_ = header_->calls_served.load(std::memory_order_relaxed);
  }

  absl::Status Prepare() {
    absl::StatusOr<Endpoint> at = ParseEndpoint(link_.config_.endpoint.address);
    if (!at.ok()) return at.status();
    absl::StatusOr<std::unique_ptr<Connector>> connector =
        Connector::Make(*at, link_.config_.endpoint.tls);
    if (!connector.ok()) return connector.status();
    connector_ = *std::move(connector);
    return absl::OkStatus();
  }

  // One attempt, bounded by `timeout`.
  absl::Status Connect(absl::Duration timeout) {
    absl::Status outcome = absl::OkStatus();
    kj::Own<kj::AsyncIoStream> stream;
    io_.provider->getTimer()
        .timeoutAfter(ToKj(timeout), connector_->Connect(io_))
        .then([&](kj::Own<kj::AsyncIoStream> s) { stream = kj::mv(s); },
              [&](kj::Exception&& e) {
                outcome = absl::UnavailableError(
                    absl::StrCat(Name(), " did not connect: ", e.getDescription().cStr()));
              })
        .wait(io_.waitScope);
    if (!outcome.ok()) return outcome;
    auto conn = kj::heap<Connection>();
    conn->stream = kj::mv(stream);
    capnp::ReaderOptions options;
    // The largest results plus room for the RPC's own framing.
    options.traversalLimitInWords = link_.config_.max_payload_words + (1u << 16);
    conn->network = kj::heap<capnp::TwoPartyVatNetwork>(
        *conn->stream, capnp::rpc::twoparty::Side::CLIENT, options);
    conn->rpc = kj::heap(capnp::makeRpcClient(*conn->network));
    capnp::MallocMessageBuilder vat;
    auto server = vat.initRoot<capnp::rpc::twoparty::VatId>();
    server.setSide(capnp::rpc::twoparty::Side::SERVER);
    conn->cap = conn->rpc->bootstrap(server);
    conn->disconnected = conn->network->onDisconnect().fork();
    conn->watch = conn->disconnected.addBranch()
                      .then([this] { lost_ = true; }, [this](kj::Exception&&) { lost_ = true; })
                      .eagerlyEvaluate(nullptr);
    lost_ = false;
    conn_ = kj::mv(conn);
    return absl::OkStatus();
  }

  void Serve(std::promise<absl::Status>& started) {
    absl::Status first = Prepare();
    if (first.ok()) first = Connect(link_.config_.startup_timeout);
    if (!first.ok()) {
      started.set_value(
          absl::Status(first.code(), absl::StrCat("weft: worker ", link_.config_.index,
                                                  " failed to start: ", first.message())));
      return;
    }
    // Release: the balancer may pick it (pairs with its relaxed loads; the
    // region itself was published before).
    link_.config_.status->failed.store(false, std::memory_order_release);
    // Relaxed: display only.
    link_.config_.status->up.store(true, std::memory_order_relaxed);
    started.set_value(absl::OkStatus());
    uint32_t failures = 0;
    for (;;) {
      if (conn_.get() != nullptr) {
        ServeUntil(absl::InfiniteFuture());
        if (Stopped()) break;
        Disconnect();
        failures = 0;
      }
      // Disconnected: calls that reach the ring fail at once.
      ServeUntil(absl::Now() + RestartBackoff(failures));
      if (Stopped()) break;
      absl::Status again = Connect(absl::Seconds(5));
      if (again.ok()) {
        Log(LogLevel::kInfo, absl::StrCat(Name(), " connected again"));
        // Release: as above.
        link_.config_.status->failed.store(false, std::memory_order_release);
        // Relaxed: display only.
        link_.config_.status->up.store(true, std::memory_order_relaxed);
      } else {
        ++failures;
        Log(LogLevel::kDebug, std::string(again.message()));
      }
    }
    CancelAll(absl::CancelledError("weft: cancelled by pool shutdown"));
    conn_ = nullptr;
  }

 private:
  struct Connection {
    // Destroyed bottom to top: the capability and the RPC system before the
    // network, the network before the stream.
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyVatNetwork> network;
    kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
    capnp::Capability::Client cap = nullptr;
    kj::ForkedPromise<void> disconnected = nullptr;
    kj::Promise<void> watch = nullptr;
  };
  struct InFlight {
    bool active = false;
    bool abortable = false;
    bool cancelling = false;  // Cancel() ran; its answer is on the way
    uint32_t lane = 0;
    CallDescriptor d;
    // Fulfilled to cancel the call with `why` (abort, lost connection, stop).
    kj::Own<kj::PromiseFulfiller<void>> cancel;
    absl::Status why;
  };

  std::string Name() const {
    return absl::StrCat("weft: remote worker ", link_.config_.index, " (",
                        link_.config_.endpoint.address, ")");
  }
  void Log(LogLevel level, std::string message) {
    if (link_.config_.logger == nullptr) return;
    LogEvent event;
    event.level = level;
    event.kind = LogEventKind::kRemoteConnection;
    event.worker = static_cast<int>(link_.config_.index);
    event.message = std::move(message);
    link_.config_.logger->Log(event);
  }
  // The host stopped the worker and its rings are drained. Calls still in
  // flight then have no one waiting (a drain waited for every call first;
  // what is left was resolved by the host already): Serve cancels them.
  bool Stopped() {
    // Acquire: pairs with the host's release store of stop: every call sent
    // before it is in the rings.
    if (header_->stop.load(std::memory_order_acquire) == 0) return false;
    return !PollRings();
  }
  uint32_t ActiveLanes() const {
    // Acquire: pairs with the host's release store of active_lanes.
    return std::min(header_->active_lanes.load(std::memory_order_acquire), geometry_.lanes);
  }
  LaneWorker& lane(uint32_t i) {
    if (lanes_[i] == nullptr) {
      lanes_[i] = std::make_unique<LaneWorker>(link_.region_->base(), link_.region_->size(),
                                               geometry_, i, link_.config_.max_payload_words);
    }
    return *lanes_[i];
  }

  // Serves (connected or not) until `until`, a lost connection, or a stop.
  void ServeUntil(absl::Time until) {
    const bool connected = conn_.get() != nullptr;
    for (;;) {
      bool worked = PollRings();
      if (abortable_count_ != 0) CheckAborts();
      io_.waitScope.poll();
      if (connected && lost_) return;
      // Relaxed: a hint; Stopped() decides with acquire.
      if (header_->stop.load(std::memory_order_relaxed) != 0 && Stopped()) return;
      if (absl::Now() >= until) return;
      if (worked) continue;
      Sleep(until);
    }
  }

  // Takes every call in the rings now; true if there was one.
  bool PollRings() {
    bool worked = false;
    const uint32_t active = ActiveLanes();
    for (uint32_t i = 0; i < active; ++i) {
      LaneWorker& l = lane(i);
      for (uint32_t n = 0; n < geometry_.ring_capacity; ++n) {
        CallDescriptor* descriptor = l.ring().Peek();
        if (descriptor == nullptr) break;
        const CallDescriptor d = *descriptor;
        l.NoteStarted(d);
        l.ring().Pop();
        // Relaxed: a statistics counter; this thread is its only writer.
        header_->calls_started.store(++calls_started_, std::memory_order_relaxed);
        Start(i, l, d);
        worked = true;
      }
    }
    return worked;
  }

  void Start(uint32_t lane_index, LaneWorker& l, const CallDescriptor& d) {
    if (!l.SlotInRange(d)) return;  // no slot to answer on
    if (l.Stale(d)) {
      // Relaxed: a statistics counter; this thread is its only writer.
      header_->calls_served.store(++calls_served_, std::memory_order_relaxed);
      return;
    }
    l.CountStarted(d);
    if (conn_.get() == nullptr || lost_) {
      l.Answer(d, absl::UnavailableError(absl::StrCat(Name(), " is not connected; reconnecting")),
               nullptr, header_, calls_served_);
      return;
    }
    LaneWorker::Request opened;
    absl::Status status = l.Open(d, link_.config_.methods, opened);
    kj::Maybe<kj::Promise<capnp::Response<capnp::AnyPointer>>> sent;
    if (status.ok()) {
      const MethodInfo& method = *opened.method;
      capnp::ReaderOptions options;
      options.traversalLimitInWords = std::max<uint64_t>(8ull << 20, 4 * opened.words);
      try {
        capnp::SegmentArrayMessageReader params(kj::arrayPtr(opened.segments.data(), opened.count),
                                                options);
        auto request = conn_->cap.typelessRequest(method.interface_id, method.ordinal,
                                                  capnp::MessageSize{opened.words + 4, 0});
        request.set(params.getRoot<capnp::AnyPointer>());
        sent = request.send();
      } catch (const kj::Exception& e) {
        status = absl::InvalidArgumentError(
            absl::StrCat("weft: the request does not copy: ", e.getDescription().cStr()));
      }
    }
    if (!status.ok()) {
      l.Answer(d, status, nullptr, header_, calls_served_);
      return;
    }
    const uint64_t key = uint64_t{lane_index} * geometry_.slots_per_lane + d.slot;
    InFlight& call = in_flight_[key];
    call.active = true;
    call.abortable = (d.flags & kCallAbortable) != 0;
    call.cancelling = false;
    call.lane = lane_index;
    call.d = d;
    auto cancel = kj::newPromiseAndFulfiller<void>();
    call.cancel = kj::mv(cancel.fulfiller);
    if (call.abortable) ++abortable_count_;
    const uint32_t seq = d.seq;
    kj::Promise<void> answered =
        KJ_ASSERT_NONNULL(sent)
            .then(
                [this, key, seq](capnp::Response<capnp::AnyPointer>&& response) {
                  capnp::AnyPointer::Reader results = response;
                  Finish(key, seq, absl::OkStatus(), &results);
                },
                [this, key, seq](kj::Exception&& e) { Finish(key, seq, Failure(e), nullptr); })
            .exclusiveJoin(cancel.promise.then(
                [this, key, seq] { Finish(key, seq, in_flight_[key].why, nullptr); },
                // The fulfiller went with a finished call: nothing to do.
                [](kj::Exception&&) {}));
    if (d.deadline_ns != 0) {
      const int64_t left = d.deadline_ns - MonotonicNanos();
      answered = answered.exclusiveJoin(
          io_.provider->getTimer()
              .afterDelay(std::max<int64_t>(left, 0) * kj::NANOSECONDS)
              .then([this, key, seq] {
                Finish(key, seq, absl::DeadlineExceededError(kExpiredWhileRunning), nullptr);
              }));
    }
    tasks_.add(kj::mv(answered));
  }

  // The call's status from a failed RPC.
  absl::Status Failure(const kj::Exception& e) {
    absl::Status status = ExceptionToStatus(e);
    if (absl::StartsWith(status.message(), "weft:")) return status;
    // Not a weft status: the connection's, or a plain Cap'n Proto server's.
    return absl::Status(status.code(), absl::StrCat(Name(), ": ", status.message()));
  }

  void Finish(uint64_t key, uint32_t seq, absl::Status status,
              const capnp::AnyPointer::Reader* results) {
    InFlight& call = in_flight_[key];
    if (!call.active || call.d.seq != seq) return;
    call.active = false;
    if (call.abortable) --abortable_count_;
    lane(call.lane).Answer(call.d, std::move(status), results, header_, calls_served_);
  }

  void CheckAborts() {
    for (InFlight& call : in_flight_) {
      if (!call.active || !call.abortable) continue;
      if (lanes_[call.lane]->AbortRequested(call.d)) {
        Cancel(call, absl::CancelledError("weft: call aborted by the caller"));
      }
    }
  }

  void Cancel(InFlight& call, const absl::Status& why) {
    if (call.cancelling) return;  // the first reason stands
    call.cancelling = true;
    call.why = why;
    call.cancel->fulfill();
  }

  void CancelAll(const absl::Status& why) {
    for (InFlight& call : in_flight_) {
      if (call.active) Cancel(call, why);
    }
    io_.waitScope.poll();
  }

  void Disconnect() {
    // Every call in flight fails (most have already, through their RPC's
    // rejection); the worker leaves balancing until it connects again.
    // Release: pairs with the balancer's relaxed loads (a hint).
    link_.config_.status->failed.store(true, std::memory_order_release);
    // Relaxed: display only.
    link_.config_.status->up.store(false, std::memory_order_relaxed);
    CancelAll(absl::UnavailableError(absl::StrCat(Name(), " lost its connection")));
    Log(LogLevel::kWarning,
        absl::StrCat(Name(),
                     " lost its connection; its calls in flight failed Unavailable, "
                     "reconnecting with backoff"));
    conn_ = nullptr;
  }

  void Sleep(absl::Time until) {
    // Drain the eventfd: its next write must be an edge the observer sees.
    uint64_t count;
    while (read(link_.wake_fd_, &count, sizeof(count)) > 0) {
    }
    // Relaxed: ordered by the fence below.
    header_->worker_sleeping.store(1, std::memory_order_relaxed);
    // Seq_cst fence: orders the store of worker_sleeping before the re-check
    // of the rings, against the host's tail store + fence + load of
    // worker_sleeping in LaneHost::WakeWorker.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Acquire: pairs with the host's release store of stop.
    bool work = header_->stop.load(std::memory_order_acquire) != 0;
    const uint32_t active = ActiveLanes();
    for (uint32_t i = 0; i < active && !work; ++i) work = lane(i).ring().Peek() != nullptr;
    if (!work) {
      // Relaxed: a statistics counter.
      header_->sleeps.fetch_add(1, std::memory_order_relaxed);
      kj::Promise<void> wake = wake_.whenBecomesReadable();
      absl::Time wake_at = until;
      if (abortable_count_ != 0) wake_at = std::min(wake_at, absl::Now() + kAbortPoll);
      if (wake_at != absl::InfiniteFuture()) {
        wake = wake.exclusiveJoin(io_.provider->getTimer().afterDelay(ToKj(wake_at - absl::Now())));
      }
      if (conn_.get() != nullptr && !lost_)
        wake = wake.exclusiveJoin(conn_->disconnected.addBranch());
      // Answers arriving meanwhile are published as they come (Finish).
      wake.then([] {}, [](kj::Exception&&) {}).wait(io_.waitScope);
    }
    // Relaxed: only the host's wake decision reads it; a stale 1 costs one
    // needless eventfd write.
    header_->worker_sleeping.store(0, std::memory_order_relaxed);
  }

  RemoteLink& link_;
  RegionHeader* header_;
  const Geometry& geometry_;
  kj::AsyncIoContext io_;
  kj::UnixEventPort::FdObserver wake_;
  std::unique_ptr<Connector> connector_;
  kj::Own<Connection> conn_;
  bool lost_ = false;
  std::vector<std::unique_ptr<LaneWorker>> lanes_;
  std::vector<InFlight> in_flight_;  // by lane * slots_per_lane + slot
  uint32_t abortable_count_ = 0;
  uint64_t calls_started_ = 0;  // mirrors of the header's counters
  uint64_t calls_served_ = 0;
  IgnoreErrors ignore_errors_;
  // Last: destroyed first, dropping any call's promise before what it uses.
  kj::TaskSet tasks_{ignore_errors_};
};

absl::StatusOr<std::unique_ptr<RemoteLink>> RemoteLink::Create(Region* region, Config config) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("weft: eventfd for a remote worker: ", std::strerror(errno)));
  }
  return std::unique_ptr<RemoteLink>(new RemoteLink(region, std::move(config), fd));
}

RemoteLink::~RemoteLink() { close(wake_fd_); }

void RemoteLink::Run(std::promise<absl::Status>& started) {
  Loop loop(*this);
  loop.Serve(started);
}

}  // namespace internal
}  // namespace weft
