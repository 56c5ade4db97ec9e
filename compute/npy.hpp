// NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Reads C-order float32 ('<f4'), float64 ('<f8') and little-endian integer arrays of any
// rank (numpy's default int64 labels, uint8 images...), converted to float32; writes
// float32. Everything else (other dtypes, big-endian data, Fortran order,
// truncated or malformed headers) is an errc::invalid_input error that names the problem.
// Nothing is trusted: the header is parsed with bounds checks and the payload size is
// compared with the shape before a byte is copied.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "compute/tensor.hpp"

namespace nexus::compute {

/// Parses the bytes of a whole .npy file.
expected<tensor> parse_npy(std::span<const uint8_t> bytes);

/// Reads a .npy file; errors name the path.
expected<tensor> read_npy(const std::string& path);

/// Serializes as a float32, C-order .npy (version 1.0).
std::vector<uint8_t> serialize_npy(const tensor& x);

/// Writes a .npy file atomically (temporary file + rename); errors name the path.
error write_npy(const std::string& path, const tensor& x);

} // namespace nexus::compute
