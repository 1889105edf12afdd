// Single-producer/single-consumer ring of T over caller-provided storage.
//
//   SpscRing<int> ring(1024);              // owns its storage
//   RingProducer<int>& tx = ring.producer();
//   RingConsumer<int>& rx = ring.consumer();
//   tx.TryPush(7);                          // producer thread
//   int v; if (rx.TryPop(v)) ...            // consumer thread
//
// The shared part is a RingControl (layout.h: head and tail on separate cache
// lines) plus an array of T; each side works through its own local view that
// caches the other side's index and re-reads it only when the ring looks full
// (producer) or empty (consumer). In shared memory the views are built over
// the region's RingControl and descriptor array (LaneLayout, region.h).
//
// Producer batching: TryEmplace/TryPush write an entry and Publish() makes
// everything written so far visible with one release store; TryPush
// publishes at once, TryPushNoPublish leaves it for a later Publish().
//
// Thread safety: exactly one producer thread and one consumer thread at a
// time (a hand-over between threads needs its own happens-before).
// Memory ordering: the producer's release store of tail publishes the entries
// it wrote and pairs with the consumer's acquire load of tail; the consumer's
// release store of head publishes that it is done reading (and destroyed)
// entries and pairs with the producer's acquire load of head, so the
// producer never overwrites an entry still being read.
// Wrap-around: indices are free-running uint32_t; capacity is a power of two
// no larger than 2^31, so `tail - head` (mod 2^32) is always the fill level.
#ifndef WEFT_RUNTIME_INTERNAL_SPSC_RING_H_
#define WEFT_RUNTIME_INTERNAL_SPSC_RING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "runtime/internal/check.h"
#include "runtime/internal/layout.h"

namespace weft {
namespace internal {

constexpr bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

template <typename T>
class RingProducer {
 public:
  RingProducer() = default;
  // Not owned: `control` and `entries` (capacity entries) outlive the view.
  RingProducer(RingControl* control, T* entries, uint32_t capacity)
      : control_(control), entries_(entries), mask_(capacity - 1) {
    WEFT_CHECK(IsPowerOfTwo(capacity) && capacity <= (1u << 31));
    // Relaxed: tail is only ever written by the producer side, which this
    // view now is (a hand-over carries its own happens-before).
    tail_ = control_->tail.load(std::memory_order_relaxed);
    // Acquire: pairs with the consumer's release store of head, as in
    // TryEmplaceNoPublish: entries below it are free to reuse.
    head_cache_ = control_->head.load(std::memory_order_acquire);
  }

  uint32_t capacity() const { return mask_ + 1; }

  template <typename... Args>
  [[nodiscard]] bool TryEmplaceNoPublish(Args&&... args) {
    if (tail_ - head_cache_ > mask_) {
      // Acquire: pairs with the consumer's release store of head in
      // Pop()/TryPop(); the entries it vacated may be reused now.
      head_cache_ = control_->head.load(std::memory_order_acquire);
      if (tail_ - head_cache_ > mask_) return false;
    }
    new (&entries_[tail_ & mask_]) T(std::forward<Args>(args)...);
    ++tail_;
    return true;
  }

  [[nodiscard]] bool TryPushNoPublish(const T& value) { return TryEmplaceNoPublish(value); }

  [[nodiscard]] bool TryPush(const T& value) {
    if (!TryEmplaceNoPublish(value)) return false;
    Publish();
    return true;
  }

  template <typename... Args>
  [[nodiscard]] bool TryEmplace(Args&&... args) {
    if (!TryEmplaceNoPublish(std::forward<Args>(args)...)) return false;
    Publish();
    return true;
  }

  // Makes every entry written so far visible to the consumer.
  void Publish() {
    // Release: publishes the entries constructed above. Pairs with the
    // acquire load of tail in RingConsumer::Peek().
    control_->tail.store(tail_, std::memory_order_release);
  }

  // How many entries the consumer has not taken yet, as last seen from here.
  // The value read from shared memory may come from an untrusted peer: a
  // result above capacity() means the ring is corrupt.
  uint32_t FillLevel() {
    // Acquire: pairs with the consumer's release store of head.
    head_cache_ = control_->head.load(std::memory_order_acquire);
    return tail_ - head_cache_;
  }

 private:
  RingControl* control_ = nullptr;
  T* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t tail_ = 0;        // next index to write (local copy of control_->tail)
  uint32_t head_cache_ = 0;  // last head seen
};

template <typename T>
class RingConsumer {
 public:
  RingConsumer() = default;
  // Not owned: `control` and `entries` (capacity entries) outlive the view.
  RingConsumer(RingControl* control, T* entries, uint32_t capacity)
      : control_(control), entries_(entries), mask_(capacity - 1) {
    WEFT_CHECK(IsPowerOfTwo(capacity) && capacity <= (1u << 31));
    // Relaxed: head is only ever written by the consumer side, which this
    // view now is.
    head_ = control_->head.load(std::memory_order_relaxed);
    // Acquire: pairs with the producer's release store of tail in Publish();
    // entries published before this view was built are fully written.
    tail_cache_ = control_->tail.load(std::memory_order_acquire);
  }

  uint32_t capacity() const { return mask_ + 1; }

  // The oldest entry, or null when the ring is empty. With an untrusted
  // producer check Corrupt() first.
  T* Peek() {
    if (head_ == tail_cache_) {
      // Acquire: pairs with the release store of tail in Publish(); the
      // entries up to tail are fully written.
      tail_cache_ = control_->tail.load(std::memory_order_acquire);
      if (head_ == tail_cache_) {
        // Empty: pull the next entry's line while we poll, so that when the
        // producer publishes, its entry and the tail come over together (a
        // prefetch is no access: the entry is read only after the tail).
        __builtin_prefetch(&entries_[head_ & mask_]);
        return nullptr;
      }
    }
    return &entries_[head_ & mask_];
  }

  // True when the producer's index claims more entries than fit.
  bool Corrupt() const { return tail_cache_ - head_ > mask_ + 1; }

  // Destroys the entry Peek() returned and hands its place back.
  void Pop() {
    entries_[head_ & mask_].~T();
    ++head_;
    // Release: our reads of the entry (and its destruction) happen before
    // the producer reuses it. Pairs with the acquire load of head in
    // RingProducer::TryEmplaceNoPublish().
    control_->head.store(head_, std::memory_order_release);
  }

  [[nodiscard]] bool TryPop(T& out) {
    T* front = Peek();
    if (front == nullptr) return false;
    out = std::move(*front);
    Pop();
    return true;
  }

  bool Empty() { return Peek() == nullptr; }

 private:
  RingControl* control_ = nullptr;
  T* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t head_ = 0;        // next index to read (local copy of control_->head)
  uint32_t tail_cache_ = 0;  // last tail seen
};

// A ring that owns its control block and storage (process-local use, tests).
template <typename T>
class SpscRing {
 public:
  explicit SpscRing(uint32_t capacity)
      : control_(std::make_unique<RingControl>()),
        storage_(new Storage[capacity]),
        producer_(control_.get(), reinterpret_cast<T*>(storage_.get()), capacity),
        consumer_(control_.get(), reinterpret_cast<T*>(storage_.get()), capacity) {}

  ~SpscRing() {
    producer_.Publish();  // so that unpublished entries are destroyed too
    T* front;
    while ((front = consumer_.Peek()) != nullptr) consumer_.Pop();
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  RingProducer<T>& producer() { return producer_; }
  RingConsumer<T>& consumer() { return consumer_; }

 private:
  struct alignas(T) Storage {
    unsigned char bytes[sizeof(T)];
  };
  std::unique_ptr<RingControl> control_;
  std::unique_ptr<Storage[]> storage_;
  RingProducer<T> producer_;
  RingConsumer<T> consumer_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_SPSC_RING_H_
