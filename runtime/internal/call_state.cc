#include "runtime/internal/call_state.h"

#include <utility>

namespace weft {
namespace internal {
namespace {
constexpr uint32_t kCallBlock = 64;
}  // namespace

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
  call->copy = nullptr;
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
