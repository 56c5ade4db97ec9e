// Fuzz target: the decoders of files users hand the network (.npy, IDX, safetensors) and
// the ledger's transaction bytes. The first byte picks the decoder. Malformed input must
// give a clear error, never a crash.
#include <cstddef>
#include <cstdint>
#include <span>

#include "chain/block.hpp"
#include "compute/nn/dataset.hpp"
#include "compute/nn/safetensors.hpp"
#include "compute/npy.hpp"

using namespace nexus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::span<const uint8_t> bytes{data + 1, size - 1};
  switch (data[0] % 4) {
  case 0:
    (void)compute::parse_npy(bytes);
    break;
  case 1:
    (void)compute::nn::parse_idx(bytes, "fuzz.idx");
    break;
  case 2:
    (void)compute::nn::parse_safetensors(bytes);
    break;
  default:
    (void)chain::decode_transaction({bytes.begin(), bytes.end()});
    break;
  }
  return 0;
}
