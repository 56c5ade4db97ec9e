#include "actors/core/output_merge.hpp"

#include <algorithm>

#include <Eigen/Core>

namespace nexus {

output_merge::output_merge(uint64_t task_id, compute::shape_t shape, uint32_t shard_count,
                           std::size_t rows_per_unit)
    : output_{task_id, std::move(shape)}
    , rows_per_unit_(rows_per_unit)
    , merged_(shard_count, false)
    , remaining_(shard_count) {}

expected<bool> output_merge::add(const shard_task& task, const compute::tensor& block) {
  if (task.shard_id >= merged_.size() || merged_[task.shard_id])
    return false; // a duplicate of a re-issued shard
  auto rows = (task.row_end - task.row_begin) * rows_per_unit_;
  if (block.rows() != rows || block.cols() != output_.cols())
    return make_error(errc::corrupted, "validated block has the wrong shape");
  if (auto err = merge(task, block))
    return err;
  merged_[task.shard_id] = true;
  --remaining_;
  return true;
}

bool output_merge::revoke(uint32_t shard_id) {
  if (!revocable() || shard_id >= merged_.size() || !merged_[shard_id])
    return false;
  merged_[shard_id] = false; // the rows stay until the new result overwrites them
  ++remaining_;
  return true;
}

wire::task_output output_merge::take() {
  return output_.finish();
}

error placed_rows::merge(const shard_task& task, const compute::tensor& block) {
  auto out = output_.values();
  auto cols = output_.cols();
  auto first = task.row_begin * rows_per_unit_;
  if ((first + block.rows()) * cols > out.size())
    return make_error(errc::corrupted, "validated block lies outside the output");
  std::copy_n(block.data(), block.size(), out.data() + first * cols);
  return {};
}

void ordered_sum::add_in_order(uint32_t shard_id, std::vector<float> part) {
  early_.emplace(shard_id, std::move(part));
  auto out = output_.values();
  Eigen::Map<Eigen::ArrayXf> sum{out.data(), static_cast<Eigen::Index>(out.size())};
  for (auto next = early_.find(next_part_); next != early_.end();
       next = early_.find(next_part_)) {
    sum += Eigen::Map<const Eigen::ArrayXf>{next->second.data(),
                                            static_cast<Eigen::Index>(next->second.size())};
    early_.erase(next);
    ++next_part_;
  }
}

error summed_rows::merge(const shard_task& task, const compute::tensor& block) {
  auto cols = output_.cols();
  std::vector<float> part(cols);
  Eigen::Map<Eigen::RowVectorXf> sum{part.data(), static_cast<Eigen::Index>(cols)};
  auto b = block.as_matrix();
  for (Eigen::Index r = 0; r < b.rows(); ++r)
    sum += b.row(r);
  add_in_order(task.shard_id, std::move(part));
  return {};
}

} // namespace nexus
