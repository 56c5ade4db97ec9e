// The C++ carrier of a Cap'n Proto message inside CAF messages.
//
// An envelope is a small value type holding the flat, word-aligned bytes of one message.
// CAF copies std::vector<uint8_t> as one block (std::vector<std::byte> would be
// serialized element by element, ~300x slower), and in-process sends share the bytes
// without copying. Each schema gets its own envelope type so that typed actor interfaces
// name exactly what they accept.
//
// Reading never trusts the bytes: read() opens them with a traversal and nesting limit
// and turns every Cap'n Proto decoding exception into errc::corrupted.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <kj/exception.h>
#include <kj/io.h>

#include "compute/errc.hpp"
#include "compute/pages.hpp"

namespace nexus::wire {

/// Largest message a node accepts, in bytes (a 512 MiB tensor plus headers).
constexpr std::size_t max_message_bytes = std::size_t{1} << 30;

template <class Schema>
class envelope {
public:
  using schema = Schema;
  using reader = typename Schema::Reader;

  envelope() = default;

  /// Flattens a finished builder.
  explicit envelope(capnp::MessageBuilder& builder) {
    // Written straight into the vector: one copy of the segments, not two.
    compute::resize_fresh(bytes_,
                          capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word));
    kj::ArrayOutputStream out{kj::arrayPtr(bytes_.data(), bytes_.size())};
    capnp::writeMessage(out, builder);
  }

  /// Adopts bytes received from elsewhere; nothing is checked until read().
  explicit envelope(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {
  }

  const std::vector<uint8_t>& bytes() const noexcept {
    return bytes_;
  }

  /// Calls `f(reader)`, which returns caf::expected<T>, and returns its result. The
  /// reader and everything reached through it are valid only during the call. Malformed
  /// bytes, or a traversal beyond eight times the message's size, give errc::corrupted.
  template <class F>
  auto read(F&& f) const -> std::invoke_result_t<F, reader> {
    if (bytes_.size() > max_message_bytes)
      return make_error(errc::invalid_input, "message of " + std::to_string(bytes_.size() >> 20)
                                               + " MiB is above the limit of "
                                               + std::to_string(max_message_bytes >> 20)
                                               + " MiB");
    if (bytes_.empty() || bytes_.size() % sizeof(capnp::word) != 0)
      return make_error(errc::corrupted, "message of " + std::to_string(bytes_.size())
                                           + " bytes is not a whole number of words");
    // Vectors are allocated with operator new's alignment (16), but bytes may come
    // from anywhere: copy into words when they are not aligned.
    kj::Array<capnp::word> copy;
    kj::ArrayPtr<const capnp::word> words;
    if (reinterpret_cast<uintptr_t>(bytes_.data()) % alignof(capnp::word) == 0) {
      words = {reinterpret_cast<const capnp::word*>(bytes_.data()),
               bytes_.size() / sizeof(capnp::word)};
    } else {
      copy = kj::heapArray<capnp::word>(bytes_.size() / sizeof(capnp::word));
      std::memcpy(copy.begin(), bytes_.data(), bytes_.size());
      words = copy;
    }
    try {
      capnp::ReaderOptions options;
      // Decoders read some fields more than once (a size, then the bytes), and every
      // read counts: a list of a few dozen node reports overran a limit of the message's
      // own size. Eight times its size still bounds what crafted, self-overlapping
      // pointers can make a reader walk.
      options.traversalLimitInWords = 8 * words.size() + 1024;
      options.nestingLimit = 16;
      capnp::FlatArrayMessageReader message{words, options};
      return f(message.getRoot<Schema>());
    } catch (const kj::Exception& ex) {
      return make_error(errc::corrupted,
                        std::string{"malformed message: "} + ex.getDescription().cStr());
    }
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, envelope& x) {
    return f(caf::meta::type_name(type_name()), x.bytes_);
  }

  static const char* type_name();

  friend bool operator==(const envelope&, const envelope&) = default;

private:
  std::vector<uint8_t> bytes_;
};

} // namespace nexus::wire
