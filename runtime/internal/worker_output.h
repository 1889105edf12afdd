// LineForwarder: copies what a process worker prints to the host's stdout or
// stderr, one whole line at a time, with the worker's index in front:
//
//   LineForwarder out(/*worker=*/2, /*to=*/1);
//   out.Adopt(spawned.stdout_fd);
//   out.Pump();            // when poll says the fd is readable
//   out.DrainAndClose();   // when the worker is gone
//
// prints "[weft worker 2] hello\n". A line longer than 4 KiB is cut, so a
// worker writing without newlines cannot grow the buffer without bound.
//
// Thread safety: thread-compatible (the supervisor thread owns it).
#ifndef WEFT_RUNTIME_INTERNAL_WORKER_OUTPUT_H_
#define WEFT_RUNTIME_INTERNAL_WORKER_OUTPUT_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace weft {
namespace internal {

class LineForwarder {
 public:
  LineForwarder(uint32_t worker, int to) : worker_(worker), to_(to) {}
  LineForwarder(const LineForwarder&) = delete;
  LineForwarder& operator=(const LineForwarder&) = delete;
  ~LineForwarder() { DrainAndClose(); }

  // Takes over `fd` (non-blocking read end of a pipe), closing any previous.
  void Adopt(int fd);
  int fd() const { return fd_; }
  // Reads what is there and forwards the whole lines; closes the fd on EOF.
  // True if it read anything.
  bool Pump();
  // Forwards what is left (a last partial line too) without blocking, then
  // closes the fd. A child of the worker may still hold the pipe open, so
  // this does not wait for EOF.
  void DrainAndClose();
  // The last lines forwarded (at most kTailLines, each cut at 200 bytes),
  // joined with " | ", for error messages: what a worker (or its wrapper)
  // said before it failed to start.
  std::string Tail() const;

  static constexpr size_t kTailLines = 6;

 private:
  void Flush();
  void Remember(std::string_view line);

  uint32_t worker_;
  int to_;
  int fd_ = -1;
  std::string partial_;  // an unfinished line
  std::deque<std::string> tail_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_WORKER_OUTPUT_H_
