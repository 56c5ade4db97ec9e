// Fuzz target: the decoders of files users hand the network (.npy, IDX, safetensors) and
// the ledger's transaction and block bytes. The first byte picks the decoder. Malformed
// input must give a clear error, never a crash. What the ledger decodes must encode to the
// very bytes it came from: ledger nodes key a received block by the SHA-256 of its bytes
// and store its encoding, so two encodings of one block would break the certificates.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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
  default: {
    if (auto t = chain::decode_transaction(bytes))
      if (chain::encode(*t) != std::vector<uint8_t>(bytes.begin(), bytes.end()))
        __builtin_trap();
    if (auto b = chain::decode_block(bytes))
      if (chain::encode(*b) != std::vector<uint8_t>(bytes.begin(), bytes.end()))
        __builtin_trap();
    break;
  }
  }
  return 0;
}
