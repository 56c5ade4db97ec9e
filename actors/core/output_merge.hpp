// A task's output as its validated shards arrive, in the aggregator. Each workload picks
// how its shards combine (workload::merge): rows placed where they belong, or parts summed
// in shard order. The bookkeeping every merge shares (each shard once, revoking, knowing
// when all are in) lives in the base class.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"
#include "messages/codec.hpp"
#include "messages/types.hpp"

namespace nexus {

class output_merge {
public:
  virtual ~output_merge() = default;

  /// Adds a validated shard once; true if it was new.
  expected<bool> add(const shard_task& task, const compute::tensor& block);

  /// Takes a shard back out, so that its next validated result is merged in its place;
  /// false where shards are summed, which cannot be taken back.
  bool revoke(uint32_t shard_id);

  bool complete() const noexcept {
    return remaining_ == 0;
  }

  /// The finished output, as the message that carries it.
  virtual wire::task_output take();

protected:
  /// An output of `shape` for `task_id` from `shard_count` shards, each shard's unit of
  /// range (a row, a micro-batch, a lane) giving `rows_per_unit` rows of the block.
  output_merge(uint64_t task_id, compute::shape_t shape, uint32_t shard_count,
               std::size_t rows_per_unit = 1);

  /// Merges a block of the shape add() checked.
  virtual error merge(const shard_task& task, const compute::tensor& block) = 0;

  virtual bool revocable() const {
    return true;
  }

  wire::output_message output_;
  std::size_t rows_per_unit_ = 1;

private:
  std::vector<bool> merged_;
  uint32_t remaining_ = 0;
};

/// Each shard's rows placed where its range says (matmul, inference).
class placed_rows final : public output_merge {
public:
  placed_rows(uint64_t task_id, compute::shape_t shape, uint32_t shard_count)
      : output_merge(task_id, std::move(shape), shard_count) {}

private:
  error merge(const shard_task& task, const compute::tensor& block) override;
};

/// Parts of a summed output, added in shard order: a part that comes early waits for those
/// before it. Float sums depend on their order and shards arrive in any order; summed in
/// one order, the same run gives the same bits every time.
class ordered_sum : public output_merge {
protected:
  using output_merge::output_merge;

  void add_in_order(uint32_t shard_id, std::vector<float> part);

  bool revocable() const override {
    return false;
  }

private:
  std::map<uint32_t, std::vector<float>> early_; // parts that wait for earlier shards
  uint32_t next_part_ = 0;                       // the shard whose part is added next
};

/// Every row of every shard summed into the output's one row (a synchronous training
/// step: the batch's gradient, loss and correct count).
class summed_rows final : public ordered_sum {
public:
  summed_rows(uint64_t task_id, std::size_t width, uint32_t shard_count)
      : ordered_sum(task_id, {1, width}, shard_count) {}

private:
  error merge(const shard_task& task, const compute::tensor& block) override;
};

} // namespace nexus
