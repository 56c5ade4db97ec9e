// The C++ carrier of a Cap'n Proto message inside CAF messages.
//
// An envelope is a small value type holding the flat, word-aligned bytes of one message.
// The bytes are immutable and shared: copying an envelope (keeping a result and sending it
// to a validator, a request's arguments) copies a pointer, not megabytes. CAF serializes
// them as one std::vector<uint8_t> block (std::vector<std::byte> would be serialized
// element by element, ~300x slower). Each schema gets its own envelope type so that typed
// actor interfaces name exactly what they accept.
//
// An envelope may also carry the SHA-256 digest its creator computed over the payload
// (what the schema's users define as such: a result's output values), so that a reader in
// the same process need not hash megabytes again, and the value it encoded (a result:
// codec.hpp's decode_shared), so that readers in the same process need not decode
// megabytes again. Neither is ever serialized: an envelope from another process has
// none, and its reader computes its own.
//
// An envelope that carries its value may also be flattened only when its bytes are first
// asked for (deferred()): a training round's result is 30 MB of rows that its readers in
// the same process take from the value, so its bytes are built only to leave the process.
//
// Reading never trusts the bytes: read() opens them with a traversal and nesting limit
// and turns every Cap'n Proto decoding exception into errc::corrupted.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "chain/hash.hpp"
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
    auto bytes = std::make_shared<std::vector<uint8_t>>();
    compute::resize_fresh(*bytes, capnp::computeSerializedSizeInWords(builder)
                                      * sizeof(capnp::word));
    kj::ArrayOutputStream out{kj::arrayPtr(bytes->data(), bytes->size())};
    capnp::writeMessage(out, builder);
    bytes_ = std::move(bytes);
  }

  /// Adopts bytes received from elsewhere; nothing is checked until read().
  explicit envelope(std::vector<uint8_t> bytes)
      : bytes_(std::make_shared<const std::vector<uint8_t>>(std::move(bytes))) {}

  /// An envelope whose bytes are `flatten()`'s, called the first time they are needed
  /// (by any copy of it; once, whatever the thread).
  static envelope deferred(std::function<envelope()> flatten) {
    envelope out;
    out.pending_ = std::make_shared<pending>();
    out.pending_->flatten = std::move(flatten);
    return out;
  }

  /// Whether there are no bytes, nor any to be built.
  bool empty() const noexcept {
    return !pending_ && (!bytes_ || bytes_->empty());
  }

  const std::vector<uint8_t>& bytes() const {
    static const std::vector<uint8_t> none;
    if (pending_) {
      std::call_once(pending_->once, [p = pending_.get()] {
        p->bytes = p->flatten().bytes_;
        p->flatten = nullptr;
      });
      return pending_->bytes ? *pending_->bytes : none;
    }
    return bytes_ ? *bytes_ : none;
  }

  /// The payload's digest as its creator in this process computed it, if it did.
  const std::optional<chain::digest>& payload_digest() const noexcept {
    return payload_digest_;
  }

  /// Records the payload's digest, computed by the caller over what it encoded.
  void remember_payload_digest(const chain::digest& d) noexcept {
    payload_digest_ = d;
  }

  /// The value its creator in this process encoded, if it kept it (codec.hpp gives it
  /// its type).
  const std::shared_ptr<const void>& decoded() const noexcept {
    return decoded_;
  }

  /// Keeps the value the caller encoded into these bytes.
  void remember_decoded(std::shared_ptr<const void> x) noexcept {
    decoded_ = std::move(x);
  }

  /// Calls `f(reader)`, which returns expected<T>, and returns its result. The
  /// reader and everything reached through it are valid only during the call. Malformed
  /// bytes, or a traversal beyond eight times the message's size, give errc::corrupted.
  template <class F>
  auto read(F&& f) const -> std::invoke_result_t<F, reader> {
    const auto& bytes = this->bytes();
    if (bytes.size() > max_message_bytes)
      return make_error(errc::invalid_input,
                        "message of " + std::to_string(bytes.size() >> 20)
                            + " MiB is above the limit of "
                            + std::to_string(max_message_bytes >> 20) + " MiB");
    if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
      return make_error(errc::corrupted, "message of " + std::to_string(bytes.size())
                                             + " bytes is not a whole number of words");
    // Vectors are allocated with operator new's alignment (16), but bytes may come
    // from anywhere: copy into words when they are not aligned.
    kj::Array<capnp::word> copy;
    kj::ArrayPtr<const capnp::word> words;
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
      words = {reinterpret_cast<const capnp::word*>(bytes.data()),
               bytes.size() / sizeof(capnp::word)};
    } else {
      copy = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
      std::memcpy(copy.begin(), bytes.data(), bytes.size());
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
    if constexpr (Inspector::reads_state) {
      // Serializers and printers only read the vector; it is shared, so never written.
      return f(caf::meta::type_name(type_name()),
               const_cast<std::vector<uint8_t>&>(x.bytes()));
    } else {
      std::vector<uint8_t> bytes;
      auto result = f(caf::meta::type_name(type_name()), bytes);
      x = envelope{std::move(bytes)};
      return result;
    }
  }

  static const char* type_name();

  friend bool operator==(const envelope& x, const envelope& y) {
    return x.bytes() == y.bytes();
  }

private:
  struct pending {
    std::once_flag once;
    std::function<envelope()> flatten;
    std::shared_ptr<const std::vector<uint8_t>> bytes;
  };

  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  std::shared_ptr<pending> pending_; // bytes not built yet, shared by every copy
  std::optional<chain::digest> payload_digest_;
  std::shared_ptr<const void> decoded_;
};

} // namespace nexus::wire
