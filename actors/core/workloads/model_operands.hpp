// What the model workloads (infer, train_step, train_round, train) share: reading their
// operands' settings, checking a request's samples, labels and weights against its model,
// and cutting rows into shards. Only actors/core/workloads/ includes this.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "actors/core/blob_store.hpp"
#include "compute/errc.hpp"
#include "compute/nn/model.hpp"
#include "compute/workloads/matmul.hpp"
#include "compute/workloads/model.hpp"
#include "messages/types.hpp"

namespace nexus::workloads {

namespace mw = compute::model_workload;

mw::batch_ref batch_of(const model_operands& m);

/// A round of local steps' description (m.local_steps > 0).
expected<mw::round_ref> round_of(const model_operands& m);

/// Rows [0, rows) in `count` shards whose sizes differ by at most one.
std::vector<compute::matmul::shard_range> split(std::size_t rows, std::size_t count);

/// What a model request must carry besides its samples.
struct model_needs {
  bool labels = true;          // one per sample
  bool weights = true;         // as many as the model has parameters
  bool bounded_output = false; // the output (samples x classes) fits in one matrix
  double sample_rate = 0;      // the validators' default share of rows recomputed
};

/// Checks the request's model and operands against `needs` and fills in the sample rate
/// and tolerance it left at 0; returns the model.
expected<compute::nn::model_spec> complete_model(task_request& req,
                                                 const model_needs& needs);

/// A shard's model and operands, read from a blob store.
struct model_inputs {
  compute::nn::model_spec spec;
  std::shared_ptr<const compute::tensor> weights, x, y, state; // y, state: when asked for
};

/// Who reads the operands: a worker gets the store's error as it is; a validator without
/// them cannot judge (errc::unavailable, "validator lacks operands: ...").
enum class reader : uint8_t { worker, validator };

/// Parses the model and reads its weights and samples, the labels with `labels`, the
/// optimizer state with `state`.
expected<model_inputs> read_inputs(const model_operands& m, blob_store& store, reader who,
                                   bool labels, bool state = false);

/// errc::unavailable: a validator without the operands it judges by.
error lacks_operands(const error& why);

error invalid(const std::string& why);

} // namespace nexus::workloads
