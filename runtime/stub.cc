#include "runtime/stub.h"

#include "runtime/internal/lane_host.h"
#include "runtime/internal/pool_core.h"

namespace weft {

Batch::Batch(const internal::StubBase& stub) {
  if (stub.core_ == nullptr) return;
  absl::StatusOr<uint32_t> lane = stub.core_->BindLane();
  if (!lane.ok()) return;  // no lane, no calls to hold back: they fail alone
  core_ = stub.core_;
  lane_ = *lane;
  core_->ForEachLaneOf(lane_, [](internal::LaneHost& l) { l.Cork(); });
}

Batch::~Batch() {
  if (core_ != nullptr) core_->ForEachLaneOf(lane_, [](internal::LaneHost& l) { l.Uncork(); });
}

void Batch::Flush() {
  if (core_ != nullptr) core_->ForEachLaneOf(lane_, [](internal::LaneHost& l) { l.Publish(); });
}

}  // namespace weft
