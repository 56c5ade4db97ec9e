#include "compute/nn/model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <random>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <yaml-cpp/yaml.h>

#include "compute/errc.hpp"
#include "compute/kernels/sgemm.hpp"

namespace nexus::compute::nn {

namespace {

constexpr std::size_t max_width = 1 << 16;
constexpr std::size_t max_layers = 64;
constexpr std::size_t max_parameters = std::size_t{1} << 28;
// Forward passes are split over the cores in blocks of 256 to 512 rows. Each block packs
// every layer's weights again: blocks of 128 to 256 cost the network's inference of
// Fashion-MNIST's test set ~10 % more CPU.
constexpr std::size_t rows_per_task = 512;

using row_vector_map = Eigen::Map<Eigen::Matrix<float, 1, Eigen::Dynamic>>;
using const_row_vector_map = Eigen::Map<const Eigen::Matrix<float, 1, Eigen::Dynamic>>;

error bad_spec(const std::string& text, const std::string& why) {
  return make_error(errc::invalid_input, "model '" + text + "': " + why);
}

expected<model_spec> check(model_spec spec, const std::string& text) {
  if (spec.layers.empty())
    return bad_spec(text, "no layers");
  if (spec.layers.size() > max_layers)
    return bad_spec(text, "more than 64 layers");
  for (const auto& l : spec.layers)
    if (l.in == 0 || l.out == 0 || l.in > max_width || l.out > max_width)
      return bad_spec(text, "layer sizes must be 1 to 65536");
  if (spec.outputs() < 2)
    return bad_spec(text, "a classifier needs at least 2 outputs");
  if (spec.parameter_count() > max_parameters)
    return bad_spec(text, "more than 2^28 parameters");
  return spec;
}

expected<model_spec> parse_mlp(const std::string& text) {
  std::vector<std::size_t> sizes;
  std::string_view rest{text};
  rest.remove_prefix(4); // "mlp:"
  while (!rest.empty()) {
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc{} || end == rest.data())
      return bad_spec(text, "expected sizes separated by '-', as in mlp:784-256-128-10");
    sizes.push_back(v);
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    if (!rest.empty()) {
      if (rest.front() != '-')
        return bad_spec(text, "expected sizes separated by '-', as in mlp:784-256-128-10");
      rest.remove_prefix(1);
      if (rest.empty())
        return bad_spec(text, "ends with '-'");
    }
  }
  if (sizes.size() < 2)
    return bad_spec(text, "needs at least an input and an output size");
  model_spec spec;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
    spec.layers.push_back({sizes[i], sizes[i + 1],
                           i + 2 < sizes.size() ? activation::relu : activation::none});
  return check(std::move(spec), text);
}

expected<model_spec> parse_yaml(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return make_error(errc::not_found, "cannot open model file " + path);
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_input, path + ":" + std::to_string(e.mark.line + 1)
                                               + ":" + std::to_string(e.mark.column + 1)
                                               + ": " + e.msg);
  }
  auto where = [&](const YAML::Node& n) {
    auto m = n.Mark();
    return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1)
           + ": ";
  };
  auto fail = [&](const YAML::Node& n, const std::string& why) {
    return make_error(errc::invalid_input, where(n) + why);
  };
  try {
    if (!root.IsMap())
      return make_error(errc::invalid_input,
                        path + ": expected a map with model, inputs, layers");
    if (!root["model"] || root["model"].as<std::string>() != "mlp")
      return fail(root["model"] ? root["model"] : root, "model: only 'mlp' is known");
    if (!root["inputs"])
      return fail(root, "inputs: missing");
    auto in = root["inputs"].as<std::size_t>();
    const auto& layers = root["layers"];
    if (!layers || !layers.IsSequence() || layers.size() == 0)
      return fail(layers ? layers : root, "layers: expected a list of {units, activation}");
    model_spec spec;
    for (const auto& l : layers) {
      if (!l.IsMap() || !l["units"])
        return fail(l, "a layer needs units");
      for (const auto& kv : l) {
        auto key = kv.first.as<std::string>();
        if (key != "units" && key != "activation")
          return fail(kv.first, "unknown layer key '" + key + "' (units, activation)");
      }
      auto out = l["units"].as<std::size_t>();
      auto act = activation::none;
      if (l["activation"]) {
        auto name = l["activation"].as<std::string>();
        if (name == "relu")
          act = activation::relu;
        else if (name != "none")
          return fail(l["activation"], "unknown activation '" + name + "' (relu, none)");
      }
      spec.layers.push_back({in, out, act});
      in = out;
    }
    if (spec.layers.back().act != activation::none)
      return fail(layers[layers.size() - 1], "the last layer gives logits: no activation");
    return check(std::move(spec), path);
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_input, path + ":" + std::to_string(e.mark.line + 1)
                                               + ":" + std::to_string(e.mark.column + 1)
                                               + ": expected a number or a name here");
  }
}

// x (rows x in) times the transpose of w (out x in), through the dispatched kernel.
matrix times_transposed(const matrix& x, const const_matrix_map& w) {
  matrix z(x.rows(), w.rows());
  kernels::sgemm(false, true, static_cast<std::size_t>(x.rows()),
                 static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(x.cols()),
                 1.0f, x.data(), static_cast<std::size_t>(x.cols()), w.data(),
                 static_cast<std::size_t>(w.cols()), 0.0f, z.data(),
                 static_cast<std::size_t>(w.rows()));
  return z;
}

// Softmax cross-entropy of logits (rows x classes, in place: becomes d loss / d logits
// times `scale`). Returns the summed loss and the correct count.
batch_stats softmax_cross_entropy(matrix& logits, const int32_t* y, float scale) {
  batch_stats s;
  s.rows = static_cast<std::size_t>(logits.rows());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    auto row = logits.row(r);
    Eigen::Index best = 0;
    float max = row.maxCoeff(&best);
    row.array() = (row.array() - max).exp();
    float sum = row.sum();
    auto label = static_cast<Eigen::Index>(y[r]);
    s.correct += best == label;
    float p = row(label) / sum;
    s.loss_sum += -std::log(std::max(p, 1e-30f));
    row *= scale / sum;
    row(label) -= scale;
  }
  return s;
}

} // namespace

std::size_t model_spec::parameter_count() const noexcept {
  std::size_t n = 0;
  for (const auto& l : layers)
    n += l.in * l.out + l.out;
  return n;
}

double model_spec::forward_flops() const noexcept {
  double f = 0;
  for (const auto& l : layers)
    f += 2.0 * static_cast<double>(l.in) * static_cast<double>(l.out);
  return f;
}

std::string model_spec::text() const {
  bool plain = !layers.empty() && layers.back().act == activation::none;
  for (std::size_t i = 0; i + 1 < layers.size(); ++i)
    plain = plain && layers[i].act == activation::relu;
  std::string out = "mlp:";
  if (layers.empty())
    return out;
  out += std::to_string(layers.front().in);
  for (const auto& l : layers) {
    out += "-" + std::to_string(l.out);
    if (!plain)
      out += l.act == activation::relu ? "relu" : "linear";
  }
  return out;
}

expected<model_spec> parse_model_spec(const std::string& text) {
  if (text.starts_with("mlp:"))
    return parse_mlp(text);
  if (text.ends_with(".yaml") || text.ends_with(".yml"))
    return parse_yaml(text);
  return make_error(errc::invalid_input,
                    "unknown model '" + text
                        + "' (mlp:784-256-128-10, or a .yaml model file)");
}

mlp::mlp(model_spec spec)
    : spec_(std::move(spec)) {
  std::size_t at = 0;
  for (const auto& l : spec_.layers) {
    at_.push_back({at, at + l.in * l.out});
    at += l.in * l.out + l.out;
  }
  params_.assign(at, 0.0f);
}

mlp mlp::initialized(model_spec spec, uint64_t seed) {
  mlp m{std::move(spec)};
  std::mt19937_64 rng{seed};
  for (std::size_t i = 0; i < m.spec_.layers.size(); ++i) {
    const auto& l = m.spec_.layers[i];
    auto bound = 1.0f / std::sqrt(static_cast<float>(l.in));
    std::uniform_real_distribution<float> u{-bound, bound};
    auto* w = m.params_.data() + m.at_[i].weight;
    for (std::size_t k = 0; k < l.in * l.out + l.out; ++k) // weight, then bias
      w[k] = u(rng);
  }
  return m;
}

tensor mlp::probabilities(const float* x, std::size_t rows) const {
  std::size_t widest = 0;
  for (const auto& l : spec_.layers)
    widest = std::max(widest, l.out);
  tensor out{rows, spec_.outputs()};
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>{0, rows, rows_per_task},
      [&](const tbb::blocked_range<std::size_t>& r) {
        // The first layer reads the samples where they are, the hidden ones alternate
        // between two buffers, and the last writes its logits into `out`.
        auto n = r.size();
        std::vector<float> a(n * widest), b(n * widest);
        const float* in = x + r.begin() * spec_.inputs();
        for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
          const auto& l = spec_.layers[i];
          float* z = i + 1 == spec_.layers.size() ? out.data() + r.begin() * l.out
                     : in == a.data()             ? b.data()
                                                  : a.data();
          kernels::sgemm(false, true, n, l.out, l.in, 1.0f, in, l.in,
                         params_.data() + at_[i].weight, l.in, 0.0f, z, l.out);
          matrix_map h{z, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(l.out)};
          const_row_vector_map bias{params_.data() + at_[i].bias,
                                    static_cast<Eigen::Index>(l.out)};
          if (l.act == activation::relu)
            h = (h.rowwise() + bias).cwiseMax(0.0f);
          else
            h.rowwise() += bias;
          in = z;
        }
        matrix_map logits{out.data() + r.begin() * spec_.outputs(),
                          static_cast<Eigen::Index>(n),
                          static_cast<Eigen::Index>(spec_.outputs())};
        for (Eigen::Index row = 0; row < logits.rows(); ++row) {
          auto v = logits.row(row);
          v.array() = (v.array() - v.maxCoeff()).exp();
          v /= v.sum();
        }
      });
  return out;
}

batch_stats mlp::gradient(const float* x, const int32_t* y, std::size_t rows,
                          std::span<float> grad, float scale) const {
  auto n = static_cast<Eigen::Index>(rows);
  // Forward, keeping each layer's input and pre-activation.
  std::vector<matrix> inputs;
  std::vector<matrix> pre;
  inputs.reserve(spec_.layers.size());
  pre.reserve(spec_.layers.size());
  inputs.emplace_back(const_matrix_map{x, n, static_cast<Eigen::Index>(spec_.inputs())});
  for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
    const auto& l = spec_.layers[i];
    const_matrix_map w{params_.data() + at_[i].weight, static_cast<Eigen::Index>(l.out),
                       static_cast<Eigen::Index>(l.in)};
    const_row_vector_map b{params_.data() + at_[i].bias, static_cast<Eigen::Index>(l.out)};
    matrix z = times_transposed(inputs.back(), w);
    z.rowwise() += b;
    if (i + 1 < spec_.layers.size())
      inputs.emplace_back(l.act == activation::relu ? matrix{z.cwiseMax(0.0f)} : z);
    pre.push_back(std::move(z));
  }
  // d loss / d logits, then back through the layers.
  matrix delta = std::move(pre.back());
  auto stats = softmax_cross_entropy(delta, y, scale);
  for (std::size_t i = spec_.layers.size(); i-- > 0;) {
    const auto& l = spec_.layers[i];
    if (i + 1 < spec_.layers.size() && l.act == activation::relu)
      delta = delta.cwiseProduct((pre[i].array() > 0.0f).cast<float>().matrix());
    matrix_map gw{grad.data() + at_[i].weight, static_cast<Eigen::Index>(l.out),
                  static_cast<Eigen::Index>(l.in)};
    row_vector_map gb{grad.data() + at_[i].bias, static_cast<Eigen::Index>(l.out)};
    // gw += delta^T * input (out x rows times rows x in)
    kernels::sgemm(true, false, l.out, l.in, static_cast<std::size_t>(n), 1.0f,
                   delta.data(), l.out, inputs[i].data(), l.in, 1.0f, gw.data(), l.in);
    // Row by row, so that each bias sums its rows in one order: Eigen's colwise().sum()
    // sums the columns before the first aligned one in another order than the rest, so
    // the bits depended on where the gradient buffer happened to be allocated, and the
    // same run trained differently from one process to the next.
    for (Eigen::Index r = 0; r < n; ++r)
      gb += delta.row(r);
    if (i > 0) {
      const_matrix_map w{params_.data() + at_[i].weight, static_cast<Eigen::Index>(l.out),
                         static_cast<Eigen::Index>(l.in)};
      matrix next(n, static_cast<Eigen::Index>(l.in));
      kernels::sgemm(false, false, static_cast<std::size_t>(n), l.in, l.out, 1.0f,
                     delta.data(), l.out, w.data(), l.in, 0.0f, next.data(), l.in);
      delta = std::move(next);
    }
  }
  return stats;
}

batch_stats mlp::evaluate(const float* x, const int32_t* y, std::size_t rows) const {
  auto probs = probabilities(x, rows);
  batch_stats s;
  s.rows = rows;
  for (std::size_t r = 0; r < rows; ++r) {
    auto row = probs.as_matrix().row(static_cast<Eigen::Index>(r));
    Eigen::Index best = 0;
    row.maxCoeff(&best);
    s.correct += best == y[r];
    s.loss_sum += -std::log(std::max(row(y[r]), 1e-30f));
  }
  return s;
}

safetensors_file mlp::to_safetensors() const {
  safetensors_file f;
  f.metadata["format"] = "pt";
  f.metadata["nexus.model"] = spec_.text();
  for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
    const auto& l = spec_.layers[i];
    auto name = std::to_string(2 * i); // nn.Sequential: Linear, ReLU, Linear, ...
    const float* w = params_.data() + at_[i].weight;
    f.tensors.push_back(
        {name + ".weight", tensor{shape_t{l.out, l.in}, {w, w + l.in * l.out}}});
    const float* b = params_.data() + at_[i].bias;
    f.tensors.push_back({name + ".bias", tensor{shape_t{l.out}, {b, b + l.out}}});
  }
  return f;
}

expected<mlp> mlp::from_safetensors(const safetensors_file& f) {
  // Linear layers by their index in the nn.Sequential: "K.weight" and "K.bias".
  std::map<std::size_t, std::pair<const tensor*, const tensor*>> linear;
  for (const auto& t : f.tensors) {
    auto dot = t.name.rfind('.');
    std::size_t index = 0;
    auto prefix = t.name.substr(0, dot == std::string::npos ? 0 : dot);
    auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), index);
    if (dot == std::string::npos || ec != std::errc{}
        || end != prefix.data() + prefix.size())
      return make_error(errc::invalid_input,
                        "tensor '" + t.name
                            + "' is not an nn.Sequential layer's "
                              "(expected names like 0.weight, 0.bias)");
    auto kind = t.name.substr(dot + 1);
    if (kind == "weight")
      linear[index].first = &t.value;
    else if (kind == "bias")
      linear[index].second = &t.value;
    else
      return make_error(errc::invalid_input,
                        "tensor '" + t.name + "' is neither a weight nor a bias");
  }
  if (linear.empty())
    return make_error(errc::invalid_input, "no layers in the file");
  model_spec spec;
  for (auto i = linear.begin(); i != linear.end(); ++i) {
    auto [w, b] = i->second;
    auto name = std::to_string(i->first);
    if (!w || !b)
      return make_error(errc::invalid_input,
                        "layer " + name + " lacks its " + (w ? "bias" : "weight"));
    if (w->rank() != 2 || b->rank() != 1 || b->size() != w->rows())
      return make_error(errc::invalid_input,
                        "layer " + name + ": weight " + to_string(w->shape()) + " and bias "
                            + to_string(b->shape()) + " do not make a linear layer");
    if (!spec.layers.empty() && spec.layers.back().out != w->cols())
      return make_error(errc::invalid_input, "layer " + name + " takes "
                                                 + std::to_string(w->cols())
                                                 + " inputs, the layer before gives "
                                                 + std::to_string(spec.layers.back().out));
    spec.layers.push_back(
        {w->cols(), w->rows(),
         std::next(i) == linear.end() ? activation::none : activation::relu});
  }
  auto checked = check(std::move(spec), "in the file");
  if (!checked)
    return checked.error();
  if (auto m = f.metadata.find("nexus.model");
      m != f.metadata.end() && m->second != checked->text())
    return make_error(errc::invalid_input, "the file says it holds " + m->second
                                               + " but its tensors make "
                                               + checked->text());
  mlp out{std::move(*checked)};
  std::size_t k = 0;
  for (const auto& [index, wb] : linear) {
    std::copy(wb.first->values().begin(), wb.first->values().end(),
              out.params_.begin() + static_cast<long>(out.at_[k].weight));
    std::copy(wb.second->values().begin(), wb.second->values().end(),
              out.params_.begin() + static_cast<long>(out.at_[k].bias));
    ++k;
  }
  return out;
}

} // namespace nexus::compute::nn
