// nexus-shell's AI commands: submit train and submit infer.
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <ostream>

#include "apps/nexus-shell/commands.hpp"
#include "apps/nexus-shell/detail.hpp"
#include "apps/nexus-shell/training_report.hpp"
#include "compute/errc.hpp"
#include "compute/nn/safetensors.hpp"
#include "compute/nn/train.hpp"
#include "compute/npy.hpp"
#include "compute/workloads/model.hpp"

namespace nexus::shell {

using namespace detail;

namespace {

expected<double> flag_double(const command_line& cmd, const std::string& flag,
                             double fallback, double lo, double hi) {
  auto i = cmd.flags.find(flag);
  if (i == cmd.flags.end())
    return fallback;
  char* end = nullptr;
  double v = std::strtod(i->second.c_str(), &end);
  if (end != i->second.c_str() + i->second.size() || !(v >= lo && v <= hi))
    return fail("--" + flag + " expects a number in [" + std::to_string(lo) + ", "
                + std::to_string(hi) + "], got '" + i->second + "'");
  return v;
}

// The path beside `model` with another extension: model.safetensors -> model.csv.
std::string beside(const std::string& model, const std::string& extension) {
  return std::filesystem::path{model}.replace_extension(extension).string();
}

// Samples (and labels, when known) for inference: a data set spec, or one X.npy.
expected<compute::nn::dataset> inference_data(const std::string& spec) {
  if (spec.find(',') != std::string::npos || spec.starts_with("fashion-mnist"))
    return compute::nn::load_dataset(spec);
  auto x = compute::read_npy(spec);
  if (!x)
    return x.error();
  compute::nn::dataset d;
  d.name = spec;
  if (x->rank() != 2)
    *x = compute::tensor{compute::shape_t{x->rows(), x->cols()},
                         {x->values().begin(), x->values().end()}};
  d.x = std::move(*x);
  return d;
}

} // namespace

error session::submit_train(const command_line& cmd) {
  auto prefix = [](const error& err) {
    return make_error(static_cast<errc>(err.code()), "submit train: " + describe(err));
  };
  if (cmd.words.size() > 2)
    return fail("submit train: unexpected argument '" + cmd.words[2] + "'");
  for (auto needed : {"model", "data"})
    if (!cmd.flags.contains(needed))
      return fail(
          std::string{"submit train: --"} + needed
          + " is needed (submit train --model mlp:784-256-128-10 --data fashion-mnist)");
  auto spec = compute::nn::parse_model_spec(cmd.flags.at("model"));
  if (!spec)
    return prefix(spec.error());
  task_request req;
  req.model.spec = spec->text();
  auto epochs = flag_uint(cmd, "epochs", 10, 10'000);
  auto batch = flag_uint(cmd, "batch", 128, 65'536);
  auto seed = flag_uint(cmd, "seed", 1, UINT64_MAX);
  auto micro =
      flag_uint(cmd, "micro-batch", compute::model_workload::default_micro_rows, 65'536);
  auto local = flag_uint(cmd, "local-steps", default_local_steps, 100'000);
  auto lr = flag_double(cmd, "lr", 1e-3, 1e-9, 10);
  auto rate = flag_double(cmd, "sample-rate", 0, 0, 1);
  for (auto* x : {&epochs, &batch, &seed, &micro, &local})
    if (!*x)
      return prefix(x->error());
  if (!lr || !rate)
    return prefix(!lr ? lr.error() : rate.error());
  if (*epochs == 0 || *batch == 0 || *micro == 0)
    return fail("submit train: --epochs, --batch and --micro-batch must be at least 1");
  req.model.micro_rows = static_cast<uint32_t>(*micro);
  req.train.epochs = static_cast<uint32_t>(*epochs);
  req.train.batch = static_cast<uint32_t>(*batch);
  req.train.local_steps = static_cast<uint32_t>(*local);
  req.train.seed = *seed;
  req.train.lr = *lr;
  req.model.sample_rate = *rate;
  if (auto i = cmd.flags.find("optimizer"); i != cmd.flags.end()) {
    if (auto o = compute::nn::parse_optimizer(i->second); !o)
      return prefix(o.error());
    req.train.optimizer = i->second;
  }
  if (auto i = cmd.flags.find("schedule"); i != cmd.flags.end()) {
    if (auto o = compute::nn::parse_schedule(i->second); !o)
      return prefix(o.error());
    req.train.schedule = i->second;
  }
  auto data_spec = cmd.flags.at("data");
  auto test_spec = cmd.flags.contains("test") ? cmd.flags.at("test")
                   : data_spec == "fashion-mnist" || data_spec == "fashion-mnist:train"
                       ? std::string{"fashion-mnist:test"}
                       : std::string{};
  auto data = compute::nn::load_dataset(data_spec);
  if (!data)
    return prefix(data.error());
  std::optional<compute::nn::dataset> test;
  if (!test_spec.empty()) {
    auto t = compute::nn::load_dataset(test_spec);
    if (!t)
      return prefix(t.error());
    test = std::move(*t);
  }
  auto out_path = cmd.flags.contains("out") ? cmd.flags.at("out") : std::string{};
  if (!out_path.empty() && !out_path.ends_with(".safetensors"))
    return fail("submit train: --out names a .safetensors file, got '" + out_path + "'");
  if (auto err = common_options(cmd, req, "train " + req.model.spec + " on " + data_spec))
    return prefix(err);
  auto ack = api_.submit_train(*data, test ? &*test : nullptr, req);
  if (!ack)
    return prefix(ack.error());
  out_ << "task " << ack->task_id << ": train " << req.model.spec << " on " << data_spec
       << " (" << data->size() << " samples), " << req.train.epochs << " epochs of "
       << ack->shard_count / req.train.epochs << " steps, " << req.train.optimizer << " lr "
       << req.train.lr << " " << req.train.schedule << std::endl;
  if (cmd.flags.contains("detach"))
    return {};
  return follow_training(ack->task_id, out_path, *spec, *data);
}

error session::follow_training(uint64_t task_id, const std::string& out_path,
                               const compute::nn::model_spec& spec,
                               const compute::nn::dataset& trained_on) {
  std::size_t printed = 0; // epochs already shown
  auto show_epochs = [&](const task_report& r) {
    for (; printed < r.epochs.size(); ++printed) {
      const auto& e = r.epochs[printed];
      if (e.test_accuracy == -2) // its test is still running
        break;
      if (interactive_)
        out_ << "\r\033[K";
      out_ << epoch_line(e) << std::endl;
    }
  };
  auto report = api_.wait(
      task_id,
      [&](const task_report& r) {
        show_epochs(r);
        if (interactive_)
          out_ << progress_bar(r);
      },
      std::nullopt, std::chrono::milliseconds{200});
  if (interactive_)
    out_ << "\r\033[K";
  if (!report)
    return report.error();
  show_epochs(*report);
  out_ << summary(*report) << std::endl;
  if (report->state != task_state::done)
    return make_error(errc::failed, "task " + std::to_string(task_id) + " "
                                        + to_string(report->state) + ": " + report->reason);
  if (!report->loss_curve.empty())
    out_ << "loss " << sparkline(report->loss_curve) << std::endl;
  if (out_path.empty())
    return {};
  auto weights = api_.result(task_id);
  if (!weights)
    return weights.error();
  auto model = compute::model_workload::with_weights(spec, *weights);
  if (!model)
    return model.error();
  auto file = model->to_safetensors();
  compute::nn::note_standardization(file.metadata, trained_on.input_mean,
                                    trained_on.input_std);
  if (auto err = compute::nn::write_safetensors(out_path, file))
    return err;
  auto csv = beside(out_path, ".csv");
  auto svg = beside(out_path, ".svg");
  if (auto err = write_history_csv(csv, report->epochs))
    return err;
  if (auto err = write_history_svg(svg, report->label, report->epochs, report->loss_curve))
    return err;
  out_ << "wrote " << out_path << " (" << model->spec().text() << ", "
       << model->parameters().size() << " parameters), " << csv << ", " << svg << std::endl;
  return {};
}

error session::submit_infer(const command_line& cmd) {
  auto prefix = [](const error& err) {
    return make_error(static_cast<errc>(err.code()), "submit infer: " + describe(err));
  };
  if (cmd.words.size() > 2)
    return fail("submit infer: unexpected argument '" + cmd.words[2] + "'");
  for (auto needed : {"model", "data"})
    if (!cmd.flags.contains(needed))
      return fail(std::string{"submit infer: --"} + needed
                  + " is needed (submit infer --model model.safetensors --data "
                    "fashion-mnist:test --out preds.npy)");
  auto file = compute::nn::read_safetensors(cmd.flags.at("model"));
  if (!file)
    return prefix(file.error());
  auto model = compute::nn::mlp::from_safetensors(*file);
  if (!model)
    return prefix(make_error(errc::invalid_input,
                             cmd.flags.at("model") + ": " + describe(model.error())));
  auto data = inference_data(cmd.flags.at("data"));
  if (!data)
    return prefix(data.error());
  if (data->x.cols() != model->spec().inputs())
    return fail("submit infer: " + model->spec().text() + " takes "
                + std::to_string(model->spec().inputs()) + " features, "
                + cmd.flags.at("data") + " has " + std::to_string(data->x.cols()));
  task_request req;
  req.model.spec = model->spec().text();
  auto rate = flag_double(cmd, "sample-rate", 0, 0, 1);
  auto shards = flag_uint(cmd, "shards", 0, 1 << 20);
  if (!rate || !shards)
    return prefix(!rate ? rate.error() : shards.error());
  req.model.sample_rate = *rate;
  req.shards = static_cast<uint32_t>(*shards);
  if (auto err = common_options(cmd, req,
                                "infer " + req.model.spec + " on " + cmd.flags.at("data")))
    return prefix(err);
  auto out_path = cmd.flags.contains("out") ? cmd.flags.at("out") : std::string{};
  compute::tensor weights{compute::shape_t{1, model->parameters().size()},
                          {model->parameters().begin(), model->parameters().end()}};
  auto rows = data->x.rows();
  auto ack = api_.submit_infer(std::move(weights), data->x, req);
  if (!ack)
    return prefix(ack.error());
  out_ << "task " << ack->task_id << ": infer " << req.model.spec << " on " << rows
       << " samples in " << ack->shard_count << " shards" << std::endl;
  if (cmd.flags.contains("detach"))
    return {};
  if (auto report = await_done(ack->task_id); !report)
    return report.error();
  auto probs = api_.result(ack->task_id);
  if (!probs)
    return probs.error();
  if (!data->y.empty()) {
    std::size_t correct = 0;
    auto m = probs->as_matrix();
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
      Eigen::Index best = 0;
      m.row(r).maxCoeff(&best);
      correct += best == data->y[static_cast<std::size_t>(r)];
    }
    out_ << "accuracy " << std::fixed << std::setprecision(4)
         << static_cast<double>(correct) / static_cast<double>(m.rows()) << " (" << correct
         << " of " << m.rows() << ")" << std::endl;
  }
  if (out_path.empty())
    return {};
  if (auto err = compute::write_npy(out_path, *probs))
    return err;
  out_ << "wrote " << out_path << " (" << compute::to_string(probs->shape()) << ")"
       << std::endl;
  return {};
}

} // namespace nexus::shell
