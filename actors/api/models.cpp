#include "actors/api/models.hpp"

#include "compute/nn/dataset.hpp"
#include "compute/nn/model.hpp"
#include "compute/nn/safetensors.hpp"
#include "compute/workloads/model.hpp"

namespace nexus::api {

namespace {

model_weights from_file(compute::nn::safetensors_file f, std::string spec) {
  model_weights w{
      .spec = std::move(spec), .tensors = {}, .metadata = std::move(f.metadata)};
  for (auto& t : f.tensors)
    w.tensors.emplace_back(std::move(t.name), std::move(t.value));
  return w;
}

compute::nn::safetensors_file to_file(const model_weights& w) {
  compute::nn::safetensors_file f;
  f.metadata = w.metadata;
  for (const auto& [name, value] : w.tensors)
    f.tensors.push_back({name, value});
  return f;
}

} // namespace

expected<labelled_data> load_data(const std::string& spec) {
  auto d = compute::nn::load_dataset(spec);
  if (!d)
    return d.error();
  return labelled_data{.name = std::move(d->name),
                       .x = std::move(d->x),
                       .y = std::move(d->y),
                       .classes = d->classes,
                       .input_mean = d->input_mean,
                       .input_std = d->input_std};
}

expected<std::string> model_text(const std::string& spec_or_path) {
  auto spec = compute::nn::parse_model_spec(spec_or_path);
  if (!spec)
    return spec.error();
  return spec->text();
}

expected<model_weights> unflatten(const std::string& spec, const compute::tensor& flat) {
  auto parsed = compute::nn::parse_model_spec(spec);
  if (!parsed)
    return parsed.error();
  auto model = compute::model_workload::with_weights(*parsed, flat);
  if (!model)
    return model.error();
  return from_file(model->to_safetensors(), parsed->text());
}

expected<std::pair<std::string, compute::tensor>> flatten(const model_weights& w) {
  auto f = to_file(w);
  if (!w.spec.empty()) {
    auto spec = compute::nn::parse_model_spec(w.spec);
    if (!spec)
      return spec.error();
    f.metadata["nexus.model"] = spec->text();
  }
  auto model = compute::nn::mlp::from_safetensors(f);
  if (!model)
    return model.error();
  auto params = model->parameters();
  return std::pair{model->spec().text(), compute::tensor{compute::shape_t{1, params.size()},
                                                         {params.begin(), params.end()}}};
}

expected<model_weights> read_weights(const std::string& path) {
  auto f = compute::nn::read_safetensors(path);
  if (!f)
    return f.error();
  auto model = compute::nn::mlp::from_safetensors(*f);
  if (!model)
    return make_error(errc::invalid_input, path + ": " + describe(model.error()));
  return from_file(std::move(*f), model->spec().text());
}

error write_weights(const std::string& path, const model_weights& w) {
  auto flat =
      flatten(w); // every tensor checked against the spec before anything is written
  if (!flat)
    return flat.error();
  auto f = to_file(w);
  f.metadata["nexus.model"] = flat->first;
  if (!f.metadata.contains("format"))
    f.metadata["format"] = "pt";
  return compute::nn::write_safetensors(path, f);
}

void note_standardization(model_weights& w, const labelled_data& data) {
  compute::nn::note_standardization(w.metadata, data.input_mean, data.input_std);
}

} // namespace nexus::api
