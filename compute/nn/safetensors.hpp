// safetensors files: the weights format PyTorch and Hugging Face users load with
// `safetensors.torch.load_file`.
//
// A file is an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, and the tensors' bytes. Written as F32 (with optional
// string metadata); read from F32, F64, F16 and BF16, converted to float32. Every
// malformed file (bad lengths, bad JSON, unknown dtypes, byte ranges that overlap, leave
// gaps or run past the end, shapes that do not match their ranges) is an
// errc::invalid_input error naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute::nn {

struct named_tensor {
  std::string name;
  tensor value;
};

struct safetensors_file {
  std::vector<named_tensor> tensors; // in the order of their bytes
  std::map<std::string, std::string> metadata;
};

std::vector<uint8_t> serialize_safetensors(const safetensors_file& f);

expected<safetensors_file> parse_safetensors(std::span<const uint8_t> bytes);

/// Writes atomically (a temporary file, then rename); errors name the path.
error write_safetensors(const std::string& path, const safetensors_file& f);

expected<safetensors_file> read_safetensors(const std::string& path);

} // namespace nexus::compute::nn
