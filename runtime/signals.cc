// ShutdownOnSignal and SignalShutdown (signals.h): the handler, its table,
// and each guard's pipe and watcher thread.
//
// The handler and the guards meet in a table indexed by signal number. A
// handler gets nothing but that number, so the table is process-wide, like
// the kernel's table of handlers it mirrors; it is weft's one global
// (STYLE.md habit 8), and only this file sees it.
//
// Memory ordering: a guard publishes its pipe's write end in a signal's
// slot (seq_cst) before it installs the handler, and the handler loads it
// (seq_cst) after it raised the slot's in_handler count (seq_cst). To take
// the pipe away, the guard puts the old handler back, stores -1 (seq_cst)
// and waits until in_handler is 0 (seq_cst loads) before it closes the
// pipe. In the single order of seq_cst operations, a handler that still
// loaded the old fd raised in_handler before the guard's -1, so the guard
// sees it and waits; its release decrement pairs with the guard's load, so
// its write() is done before the close. A handler that loads -1 writes
// nothing. So a handler never writes to a closed fd, nor to a number the
// process has reused for another file since.
#include "runtime/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/internal/check.h"
#include "runtime/internal/mutex.h"
#include "runtime/internal/pool_core.h"

namespace weft {
namespace {

// Lock-free atomics are the only shared state a signal handler may touch
// ([support.signal]).
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<pid_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

static_assert(kShutdownSignals[0] == SIGTERM && kShutdownSignals[1] == SIGINT);

// What the handler of one signal reads.
struct HandlerSlot {
  // The write end of the owning guard's pipe (non-blocking), or -1.
  std::atomic<int> fd{-1};
  // The process that installed the handler. A child the supervisor forks
  // runs our handler until its exec(), with a copy of this table and of the
  // pipe: its signals are not the host's and must not drain the host's pool.
  std::atomic<pid_t> pid{0};
  // Handlers between their increment and their decrement; see the top.
  std::atomic<uint32_t> in_handler{0};
};

HandlerSlot g_slots[NSIG];

// Serializes installing and removing guards (never taken by a handler).
internal::Mutex g_install_mutex;
// Which signals a live guard holds.
bool g_held[NSIG] ABSL_GUARDED_BY(g_install_mutex) = {};

// The handler: async-signal-safe calls and lock-free atomics only.
void OnSignal(int sig) {
  const int saved_errno = errno;  // write() may change it under the code we interrupted
  if (sig > 0 && sig < NSIG) {
    HandlerSlot& slot = g_slots[sig];
    // Seq_cst: ordered before the fd load below, against Remove's store of
    // -1 and its load of in_handler (see the top of this file).
    slot.in_handler.fetch_add(1, std::memory_order_seq_cst);
    // Seq_cst: as above; also an acquire that pairs with Install's store of
    // the fd, so the pid stored before it is visible.
    const int fd = slot.fd.load(std::memory_order_seq_cst);
    // Relaxed: ordered by the fd load above.
    if (fd >= 0 && slot.pid.load(std::memory_order_relaxed) == getpid()) {
      const unsigned char number = static_cast<unsigned char>(sig);
      // Non-blocking: if the pipe is full it holds a signal the watcher has
      // yet to read, so losing this one loses no shutdown.
      (void)!write(fd, &number, 1);
    }
    // Release: the write above is done; pairs with Remove's seq_cst load of
    // in_handler, after which it closes the fd.
    slot.in_handler.fetch_sub(1, std::memory_order_release);
  }
  errno = saved_errno;
}

SignalShutdown::Outcome MovedFrom() {
  return {0, absl::FailedPreconditionError("weft: this SignalShutdown was moved from")};
}

std::string SignalName(int sig) {
  const char* abbrev = (sig > 0 && sig < NSIG) ? sigabbrev_np(sig) : nullptr;
  if (abbrev == nullptr) return absl::StrCat("signal ", sig);
  return absl::StrCat("SIG", abbrev, " (", sig, ")");
}

// Why `sig` may not be given to ShutdownOnSignal; OK if it may.
absl::Status CheckCatchable(int sig) {
  if (sig <= 0 || sig >= NSIG) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: ShutdownOnSignal: ", sig, " is not a signal number (they are 1..", NSIG - 1,
        "); the usual ones are SIGTERM and SIGINT (weft::kShutdownSignals)"));
  }
  if (sig == SIGKILL || sig == SIGSTOP) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: ShutdownOnSignal: ", SignalName(sig),
                     " cannot be caught; SIGTERM is the signal that asks a process to stop"));
  }
  switch (sig) {
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
    case SIGABRT:
      return absl::InvalidArgumentError(absl::StrCat(
          "weft: ShutdownOnSignal: ", SignalName(sig),
          " reports a fault in this process, which a drain cannot outlive (a handler that "
          "returns goes back to the fault); use SIGTERM, SIGINT, SIGHUP, SIGQUIT or SIGUSR1/2"));
    default:
      return absl::OkStatus();
  }
}

}  // namespace

class SignalShutdown::State {
 public:
  State(std::shared_ptr<internal::PoolCore> core, absl::Duration grace)
      : core_(std::move(core)), grace_(grace) {}
  ~State() {
    if (read_fd_ >= 0) close(read_fd_);
    if (write_fd_ >= 0) close(write_fd_);
  }

  // Makes the pipe and starts the watcher.
  absl::Status Start() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return absl::ErrnoToStatus(errno, "weft: ShutdownOnSignal: pipe2");
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    // Only the handler's end is non-blocking: the watcher sleeps in read().
    const int flags = fcntl(write_fd_, F_GETFL);
    if (flags < 0 || fcntl(write_fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
      return absl::ErrnoToStatus(errno, "weft: ShutdownOnSignal: fcntl(O_NONBLOCK)");
    }
    watcher_ = std::thread([this] { Watch(); });
    return absl::OkStatus();
  }

  // Catches every signal of `signals` (checked already); on an error the
  // ones caught so far stay caught, and Stop() lets them go.
  absl::Status Install(const std::vector<int>& signals) {
    internal::MutexLock lock(&g_install_mutex);
    for (int sig : signals) {
      if (g_held[sig]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "weft: ShutdownOnSignal: ", SignalName(sig),
            " is held by another live weft::SignalShutdown; destroy that guard first (a "
            "signal has one guard at a time), or leave the signal out of this one"));
      }
    }
    struct sigaction ours = {};
    ours.sa_handler = &OnSignal;
    sigemptyset(&ours.sa_mask);
    // A signal must not make the host's blocking calls fail with EINTR.
    ours.sa_flags = SA_RESTART;
    for (int sig : signals) {
      HandlerSlot& slot = g_slots[sig];
      // Relaxed: published by the seq_cst store of fd below.
      slot.pid.store(getpid(), std::memory_order_relaxed);
      // Seq_cst (a release too): the fd is there before the handler is, so
      // no signal finds -1; pairs with OnSignal's load.
      slot.fd.store(write_fd_, std::memory_order_seq_cst);
      Caught caught{sig, {}};
      if (sigaction(sig, &ours, &caught.previous) != 0) {
        const int error = errno;
        // Seq_cst: as in Remove; no handler of ours runs for `sig`.
        slot.fd.store(-1, std::memory_order_seq_cst);
        return absl::InvalidArgumentError(
            absl::StrCat("weft: ShutdownOnSignal: cannot catch ", SignalName(sig), ": ",
                         strerror(error), " (the C library reserves some numbers for itself)"));
      }
      g_held[sig] = true;
      caught_.push_back(caught);
    }
    return absl::OkStatus();
  }

  // Puts the previous handlers back, then stops and joins the watcher.
  void Stop() {
    {
      internal::MutexLock lock(&g_install_mutex);
      for (const Caught& caught : caught_) Remove(caught);
    }
    caught_.clear();
    if (!watcher_.joinable()) return;
    {
      internal::MutexLock lock(&mu_);
      stopping_ = true;
    }
    // Wakes the watcher. If the pipe is full this fails, but then the
    // watcher has bytes to read and sees stopping_ after them.
    const unsigned char wake = 0;
    (void)!write(write_fd_, &wake, 1);
    watcher_.join();
  }

  SignalShutdown::Outcome Wait() {
    internal::MutexLock lock(&mu_);
    while (!done_) done_cv_.Wait(&mu_);
    return outcome_;
  }

  std::optional<SignalShutdown::Outcome> WaitUntil(absl::Time until) {
    internal::MutexLock lock(&mu_);
    while (!done_) {
      if (!done_cv_.WaitUntil(&mu_, until)) break;
    }
    if (!done_) return std::nullopt;
    return outcome_;
  }

  bool triggered() {
    internal::MutexLock lock(&mu_);
    return triggered_;
  }

 private:
  struct Caught {
    int signal;
    struct sigaction previous;
  };

  void Remove(const Caught& caught) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_install_mutex) {
    struct sigaction current = {};
    // A handler installed over ours since is someone else's: it stays.
    if (sigaction(caught.signal, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
        current.sa_handler == &OnSignal) {
      sigaction(caught.signal, &caught.previous, nullptr);
    }
    HandlerSlot& slot = g_slots[caught.signal];
    // Seq_cst: see the top of this file; handlers that load the fd from now
    // on write nothing.
    slot.fd.store(-1, std::memory_order_seq_cst);
    // Seq_cst (an acquire too): pairs with OnSignal's increment and its
    // release decrement; when 0, no handler is about to write to the pipe.
    while (slot.in_handler.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    g_held[caught.signal] = false;
  }

  // The watcher thread: sleeps in read() until a signal's number or the
  // wake-up byte arrives.
  void Watch() {
    unsigned char bytes[64];
    for (;;) {
      const ssize_t n = read(read_fd_, bytes, sizeof(bytes));
      if (n < 0 && errno == EINTR) continue;
      // We hold the write end until the watcher is joined: no EOF, no error.
      WEFT_CHECK(n > 0);
      const unsigned char* first =
          std::find_if(bytes, bytes + n, [](unsigned char b) { return b != 0; });
      if (first != bytes + n) OnFirstSignal(*first);
      internal::MutexLock lock(&mu_);
      if (stopping_) return;
    }
  }

  // Drains the pool on the first signal; later ones change nothing.
  void OnFirstSignal(int sig) {
    {
      internal::MutexLock lock(&mu_);
      if (triggered_) return;
      triggered_ = true;
    }
    absl::Status stopped = core_->Shutdown(ShutdownMode::kDrain, grace_);
    internal::MutexLock lock(&mu_);
    outcome_ = SignalShutdown::Outcome{sig, std::move(stopped)};
    done_ = true;
    done_cv_.SignalAll();
  }

  const std::shared_ptr<internal::PoolCore> core_;
  const absl::Duration grace_;
  // Set by Start, closed by the destructor, after the watcher is joined.
  int read_fd_ = -1;
  int write_fd_ = -1;
  // Touched by the creating and the destroying thread only (never both at
  // once: creation returns the guard that destruction takes).
  std::vector<Caught> caught_;
  std::thread watcher_;

  internal::Mutex mu_;
  internal::CondVar done_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool triggered_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  SignalShutdown::Outcome outcome_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<SignalShutdown> ShutdownOnSignal(internal::PoolBase& pool,
                                                absl::Span<const int> signals,
                                                std::optional<absl::Duration> grace) {
  std::shared_ptr<internal::PoolCore> core = SignalShutdown::CoreOf(pool);
  if (core == nullptr) {
    return absl::InvalidArgumentError(
        "weft: ShutdownOnSignal: the pool was moved from and has no workers; pass the pool it "
        "was moved to");
  }
  const absl::Duration drain = grace.value_or(core->options().shutdown_grace);
  if (drain < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("weft: ShutdownOnSignal: the grace (",
                                                   absl::FormatDuration(drain),
                                                   ") must not be negative"));
  }
  if (signals.empty()) {
    return absl::InvalidArgumentError(
        "weft: ShutdownOnSignal needs at least one signal; the usual ones are SIGTERM and SIGINT "
        "(weft::kShutdownSignals, the default)");
  }
  std::vector<int> unique;
  for (int sig : signals) {
    absl::Status catchable = CheckCatchable(sig);
    if (!catchable.ok()) return catchable;
    if (std::find(unique.begin(), unique.end(), sig) == unique.end()) unique.push_back(sig);
  }
  // From here on the guard owns the state: its destructor undoes whatever
  // part of the set-up happened.
  SignalShutdown guard(std::make_unique<SignalShutdown::State>(std::move(core), drain));
  absl::Status started = guard.state_->Start();
  if (started.ok()) started = guard.state_->Install(unique);
  if (!started.ok()) return started;
  return guard;
}

SignalShutdown::SignalShutdown(std::unique_ptr<State> state) : state_(std::move(state)) {}

SignalShutdown::SignalShutdown(SignalShutdown&& other) noexcept = default;

SignalShutdown& SignalShutdown::operator=(SignalShutdown&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) state_->Stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

SignalShutdown::~SignalShutdown() {
  if (state_ != nullptr) state_->Stop();
}

std::shared_ptr<internal::PoolCore> SignalShutdown::CoreOf(const internal::PoolBase& pool) {
  return pool.core_;
}

SignalShutdown::Outcome SignalShutdown::Wait() const {
  if (state_ == nullptr) return MovedFrom();
  return state_->Wait();
}

std::optional<SignalShutdown::Outcome> SignalShutdown::WaitFor(absl::Duration timeout) const {
  if (state_ == nullptr) return MovedFrom();
  return state_->WaitUntil(absl::Now() + timeout);
}

bool SignalShutdown::triggered() const { return state_ != nullptr && state_->triggered(); }

}  // namespace weft
