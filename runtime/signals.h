// weft::ShutdownOnSignal: drains a pool when the process gets SIGTERM or
// SIGINT (or the signals you name), the way a service is expected to stop.
//
//   absl::StatusOr<weft::Pool<quickstart::Math>> pool = ...;
//   absl::StatusOr<weft::SignalShutdown> on_signal = weft::ShutdownOnSignal(*pool);
//   if (!on_signal.ok()) return on_signal.status();
//   ... serve requests with pool->stub() ...
//   weft::SignalShutdown::Outcome stop = on_signal->Wait();  // drained
//   std::cerr << "stopped by signal " << stop.signal << ": " << stop.status << "\n";
//
// While the guard lives, each of its signals is caught by a handler that
// only write()s the signal's number to a pipe (async-signal-safe, unlike
// anything a shutdown does); the guard's own thread reads the pipe and calls
// pool.Shutdown(ShutdownMode::kDrain, grace) once. New calls then resolve
// Unavailable, calls already sent finish (for at most `grace`, then they are
// cancelled), and Wait() returns which signal came and what Shutdown
// returned.
//
// - Further signals, during the drain or after it, are absorbed. They do
//   not escalate to kCancelPending: Pool::Shutdown runs once, and a second
//   call waits for the first. `grace` is what bounds the drain.
// - Destroying the guard puts back the handlers its signals had before
//   (unless something replaced ours since: that stays), stops its thread,
//   and does not shut the pool down. A signal caught before the handlers
//   were put back still drains the pool: the destructor waits for that.
// - A signal belongs to at most one live guard (a second one for it is
//   FailedPrecondition); guards for different signals coexist.
// - The guard holds the pool's workers, not the Pool object: the pool may be
//   moved, and a guard that outlives the pool is harmless (the pool's
//   destructor drained it; a signal then finds it stopped). The pool's
//   memory is freed when the last of the two is gone.
// - The signals must not be blocked in every thread, or the handler never
//   runs. Process workers start with exec(), which resets caught signals to
//   their defaults: the handler runs in the host only. A signal sent to the
//   whole process group (Ctrl-C in a terminal, systemd's default
//   KillMode=control-group) reaches the workers too, which die of it, so
//   their running calls resolve Unavailable instead of draining; send it to
//   the host's pid alone.
//
// Thread safety: Wait(), WaitFor() and triggered() are thread-safe, from any
// number of threads. Moving or destroying a guard is thread-compatible: not
// while another thread uses it. Neither Wait() nor the destructor may run in
// a Future::Then callback: the shutdown waits for the callbacks to finish.
//
// Memory ordering: everything the shutdown did (every call resolved, the
// workers stopped) happens before Wait() or WaitFor() returns its outcome;
// the guard's mutex carries it. The handler's lock-free table is described
// in signals.cc.
#ifndef WEFT_RUNTIME_SIGNALS_H_
#define WEFT_RUNTIME_SIGNALS_H_

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/pool.h"

namespace weft {

// The signals a service is asked to stop with: SIGTERM (15, from a
// supervisor: systemd, Kubernetes, `kill`) and SIGINT (2, Ctrl-C). Spelled
// as numbers so that weft.h, which every generated header includes, does
// not bring <signal.h>'s macros along (signals.cc checks them).
inline constexpr int kShutdownSignals[] = {15, 2};

class SignalShutdown;

// Catches `signals` (at least one; duplicates count once) for as long as
// the returned guard lives, and drains `pool` with
// pool.Shutdown(ShutdownMode::kDrain, grace) on the first of them to come.
// `grace` defaults to the pool's PoolOptions.shutdown_grace. `pool` is not
// kept past the call (the guard shares its workers; see above).
//
// Errors: InvalidArgument for a signal that cannot or must not be caught
// (SIGKILL, SIGSTOP, the fault signals such as SIGSEGV, numbers outside
// 1..64, those the C library reserves), an empty list, a negative grace or a
// moved-from pool, each naming the fix; FailedPrecondition for a signal that
// a live guard holds already; the errno's code if the pipe cannot be made.
[[nodiscard]] absl::StatusOr<SignalShutdown> ShutdownOnSignal(
    internal::PoolBase& pool, absl::Span<const int> signals = kShutdownSignals,
    std::optional<absl::Duration> grace = std::nullopt);

// The guard ShutdownOnSignal returns. Move-only; see the top of this file.
class SignalShutdown {
 public:
  struct Outcome {
    int signal = 0;       // the signal that started the shutdown
    absl::Status status;  // what Pool::Shutdown returned
  };

  SignalShutdown(SignalShutdown&& other) noexcept;
  SignalShutdown& operator=(SignalShutdown&& other) noexcept;
  // Puts the previous handlers back and stops the guard's thread; the pool
  // keeps running (unless a signal came: then this waits for its shutdown).
  ~SignalShutdown();

  // Blocks until one of the signals came and the shutdown it started has
  // returned. Every caller gets the same outcome.
  Outcome Wait() const;
  // Like Wait() for at most `timeout`; nullopt if the shutdown has not
  // returned by then.
  std::optional<Outcome> WaitFor(absl::Duration timeout) const;
  // True once one of the signals came; the shutdown may still be running
  // (and new calls may be accepted for a moment yet). Does not wait for it.
  bool triggered() const;

  // A moved-from guard catches nothing: triggered() is false, and Wait()
  // and WaitFor() return at once with signal 0 and FailedPrecondition.

 private:
  class State;  // signals.cc: the pipe, the thread, the outcome
  friend absl::StatusOr<SignalShutdown> ShutdownOnSignal(internal::PoolBase&, absl::Span<const int>,
                                                         std::optional<absl::Duration>);
  explicit SignalShutdown(std::unique_ptr<State> state);
  // The workers `pool` owns (PoolBase befriends this class for it).
  static std::shared_ptr<internal::PoolCore> CoreOf(const internal::PoolBase& pool);

  std::unique_ptr<State> state_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_SIGNALS_H_
