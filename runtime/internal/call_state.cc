#include "runtime/internal/call_state.h"

#include <utility>

namespace weft {
namespace internal {
namespace {
constexpr uint32_t kCallBlock = 64;
// Copied-out results up to this size keep their storage for the state's
// next call (a process worker's results are copied out on every call); at
// most one per state, and a lane has as many states as it had calls in
// flight at once. Larger copies are freed with the call.
constexpr size_t kKeptCopyWords = (16 << 10) / sizeof(capnp::word);
}  // namespace

capnp::word* CallState::CopyArea(uint64_t words) {
  if (copy.size() < words) copy = kj::heapArray<capnp::word>(words);
  return copy.begin();
}

CallState* CallStatePool::New() {
  // Acquire: pairs with the release CAS in Free; the freeing thread's reset
  // of the state happens before we reuse it. Only this (owner) thread pops,
  // so the head cannot be popped and pushed again under us (no ABA).
  CallState* head = free_.load(std::memory_order_acquire);
  while (head != nullptr &&
         !free_.compare_exchange_weak(head, head->next_free, std::memory_order_acquire,
                                      std::memory_order_acquire)) {
  }
  if (head != nullptr) return head;
  auto block = std::make_unique<CallState[]>(kCallBlock);
  for (uint32_t i = 0; i < kCallBlock; ++i) block[i].pool = this;
  for (uint32_t i = 1; i < kCallBlock; ++i) Free(&block[i]);
  CallState* fresh = &block[0];
  blocks_.push_back(std::move(block));
  return fresh;
}

void CallStatePool::Free(CallState* call) {
  call->status = absl::OkStatus();
  call->on_timeout = OnTimeout();
  call->holds_abort_slot = false;
  call->reader.reset();
  if (call->copy.size() > kKeptCopyWords) call->copy = nullptr;
  call->segment_count = 0;
  // Relaxed: the CAS below re-reads on failure; nothing is read through it.
  CallState* head = free_.load(std::memory_order_relaxed);
  do {
    call->next_free = head;
    // Release: publishes the reset above to the owner's acquire in New.
  } while (!free_.compare_exchange_weak(head, call, std::memory_order_release,
                                        std::memory_order_relaxed));
}

}  // namespace internal
}  // namespace weft
