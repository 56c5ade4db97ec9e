#include "actors/core/workloads/model_operands.hpp"

#include <algorithm>
#include <tuple>

#include "compute/nn/train.hpp"

namespace nexus::workloads {

error invalid(const std::string& why) {
  return make_error(errc::invalid_input, why);
}

error lacks_operands(const error& why) {
  return make_error(errc::unavailable, "validator lacks operands: " + describe(why));
}

expected<model_inputs> read_inputs(const model_operands& m, blob_store& store, reader who,
                                   bool labels, bool state) {
  auto spec = compute::nn::parse_model_spec(m.spec);
  if (!spec)
    return spec.error();
  model_inputs in{.spec = *spec};
  for (auto [ref, out, wanted] :
       {std::tuple{&m.weights, &in.weights, true}, std::tuple{&m.x, &in.x, true},
        std::tuple{&m.y, &in.y, labels}, std::tuple{&m.state, &in.state, state}}) {
    if (!wanted)
      continue;
    auto blob = store.get(*ref);
    if (!blob)
      return who == reader::validator ? lacks_operands(blob.error()) : blob.error();
    *out = std::move(*blob);
  }
  return in;
}

mw::batch_ref batch_of(const model_operands& m) {
  return {m.seed, m.epoch, m.batch_begin, m.batch_rows, m.micro_rows};
}

expected<mw::round_ref> round_of(const model_operands& m) {
  mw::round_ref r;
  r.batch = batch_of(m);
  r.local_steps = m.local_steps;
  auto opt = compute::nn::parse_optimizer(m.optimizer);
  if (!opt)
    return opt.error();
  auto schedule = compute::nn::parse_schedule(m.schedule);
  if (!schedule)
    return schedule.error();
  r.optimizer.optimizer = *opt;
  r.optimizer.schedule = *schedule;
  r.optimizer.lr = m.lr;
  r.first_step = m.first_step;
  r.total_steps = m.total_steps;
  return r;
}

std::vector<compute::matmul::shard_range> split(std::size_t rows, std::size_t count) {
  count = std::clamp<std::size_t>(count, 1, std::max<std::size_t>(rows, 1));
  std::vector<compute::matmul::shard_range> out;
  std::size_t row = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto n = rows / count + (i < rows % count ? 1 : 0);
    out.push_back({static_cast<uint32_t>(i), row, row + n});
    row += n;
  }
  return out;
}

namespace {

error check_operands(const model_operands& m, const compute::nn::model_spec& spec,
                     const model_needs& needs) {
  if (m.x.shape.size() != 2 || m.x.shape[0] == 0)
    return invalid("the samples must be a non-empty matrix, got "
                   + compute::to_string(m.x.shape));
  if (m.x.shape[1] != spec.inputs())
    return invalid(spec.text() + " takes " + std::to_string(spec.inputs())
                   + " features, the samples have " + std::to_string(m.x.shape[1]));
  if (needs.labels
      && (m.y.shape.empty() || m.y.shape[0] != m.x.shape[0]
          || compute::element_count(m.y.shape) != m.x.shape[0]))
    return invalid("the labels must be one per sample: " + std::to_string(m.x.shape[0])
                   + " samples, labels of shape " + compute::to_string(m.y.shape));
  if (needs.bounded_output
      && static_cast<double>(m.x.shape[0]) * static_cast<double>(spec.outputs())
             > static_cast<double>(compute::matmul::max_elements))
    return make_error(errc::exhausted,
                      "the output would be " + std::to_string(m.x.shape[0]) + "x"
                          + std::to_string(spec.outputs())
                          + ", above the 2^28 values (1 GiB) a matrix may have here");
  if (needs.weights && compute::element_count(m.weights.shape) != spec.parameter_count())
    return invalid("the weights hold "
                   + std::to_string(compute::element_count(m.weights.shape)) + " values; "
                   + spec.text() + " has " + std::to_string(spec.parameter_count())
                   + " parameters");
  return {};
}

} // namespace

expected<compute::nn::model_spec> complete_model(task_request& req,
                                                 const model_needs& needs) {
  auto spec = compute::nn::parse_model_spec(req.model.spec);
  if (!spec)
    return spec.error();
  if (auto err = check_operands(req.model, *spec, needs))
    return err;
  auto& m = req.model;
  if (!(m.sample_rate >= 0 && m.sample_rate <= 1))
    return invalid("the sample rate must be in [0, 1]");
  if (m.sample_rate == 0)
    m.sample_rate = needs.sample_rate;
  if (req.tolerance == 0)
    req.tolerance = mw::default_tolerance;
  return spec;
}

} // namespace nexus::workloads
