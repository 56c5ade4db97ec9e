#include "chain/block.hpp"

#include <tbb/parallel_for.h>

#include "chain/encoding.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

constexpr uint8_t format_version = 1;
constexpr std::size_t max_block_txs = 1 << 20;
// The smallest encoded transaction (empty names), to bound what a header may claim.
constexpr std::size_t min_tx_bytes = 2 + 8 + 4 + 4 + 3 * 4 + 8 + 32 + 1 + 8 + 8 + 32 + 64;

void write_tx_body(writer& w, const transaction& t) {
  w.u8(format_version);
  w.u8(static_cast<uint8_t>(t.kind));
  w.u64(t.task_id);
  w.u32(t.shard_id);
  w.u32(t.attempt);
  w.text(t.worker);
  w.text(t.validator);
  w.text(t.account);
  w.u64(t.work_units);
  w.fixed(t.result);
  w.u8(t.valid ? 1 : 0);
  w.i64(t.amount);
  w.u64(t.time_ms);
  w.fixed(t.signer);
}

bool read_tx(reader& r, transaction& t) {
  if (r.u8() != format_version)
    return false;
  auto kind = r.u8();
  if (kind < 1 || kind > 5)
    return false;
  t.kind = static_cast<tx_kind>(kind);
  t.task_id = r.u64();
  t.shard_id = r.u32();
  t.attempt = r.u32();
  t.worker = r.text();
  t.validator = r.text();
  t.account = r.text();
  t.work_units = r.u64();
  r.fixed(t.result);
  auto valid = r.u8();
  if (valid > 1)
    return false;
  t.valid = valid == 1;
  t.amount = r.i64();
  t.time_ms = r.u64();
  r.fixed(t.signer);
  r.fixed(t.sig);
  return r.ok();
}

void write_header_body(writer& w, const block_header& h) {
  w.u8(format_version);
  w.u64(h.height);
  w.fixed(h.prev);
  w.fixed(h.merkle_root);
  w.u64(h.time_ms);
  w.u32(h.tx_count);
  w.fixed(h.proposer);
}

caf::error corrupted(const std::string& what) {
  return make_error(errc::corrupted, what);
}

} // namespace

std::string to_string(tx_kind x) {
  switch (x) {
    case tx_kind::submission: return "submission";
    case tx_kind::contribution: return "contribution";
    case tx_kind::verdict: return "verdict";
    case tx_kind::reward: return "reward";
    case tx_kind::penalty: return "penalty";
  }
  return "unknown";
}

std::vector<uint8_t> transaction::body() const {
  writer w;
  write_tx_body(w, *this);
  return std::move(w.data());
}

digest transaction::id() const {
  return sha256(body());
}

void transaction::sign_with(const node_key& key) {
  signer = key.public_bytes();
  sig = key.sign(body());
}

bool transaction::signature_valid() const {
  return verify(signer, body(), sig);
}

std::vector<uint8_t> block_header::body() const {
  writer w;
  write_header_body(w, *this);
  return std::move(w.data());
}

digest block_header::hash() const {
  return sha256(body());
}

block seal(uint64_t height, const digest& prev, std::vector<transaction> txs,
           uint64_t time_ms, const node_key& proposer) {
  block b;
  std::vector<digest> ids;
  ids.reserve(txs.size());
  for (const auto& t : txs)
    ids.push_back(t.id());
  b.header.height = height;
  b.header.prev = prev;
  b.header.merkle_root = merkle_root(ids);
  b.header.time_ms = time_ms;
  b.header.tx_count = static_cast<uint32_t>(txs.size());
  b.header.proposer = proposer.public_bytes();
  b.header.sig = proposer.sign(b.header.body());
  b.txs = std::move(txs);
  return b;
}

caf::error check(const block& b) {
  auto at = "block " + std::to_string(b.header.height) + ": ";
  if (b.header.tx_count != b.txs.size())
    return corrupted(at + "header says " + std::to_string(b.header.tx_count)
                     + " transactions, body has " + std::to_string(b.txs.size()));
  if (!verify(b.header.proposer, b.header.body(), b.header.sig))
    return corrupted(at + "the proposer's signature does not match the header");
  // Inputs carry their authors' signatures; payments are derived by the contract and
  // covered by the proposer's signature of the header (through the Merkle root).
  std::vector<digest> ids(b.txs.size());
  std::vector<uint8_t> bad(b.txs.size(), 0);
  tbb::parallel_for(std::size_t{0}, b.txs.size(), [&](std::size_t i) {
    const auto& t = b.txs[i];
    ids[i] = t.id();
    bool payment = t.kind == tx_kind::reward || t.kind == tx_kind::penalty;
    bad[i] = !payment && !t.signature_valid();
  });
  for (std::size_t i = 0; i < b.txs.size(); ++i)
    if (bad[i])
      return corrupted(at + "transaction " + std::to_string(i) + " ("
                       + to_string(b.txs[i].kind) + ") has a bad signature");
  if (merkle_root(ids) != b.header.merkle_root)
    return corrupted(at + "the Merkle root does not match the transactions");
  return caf::none;
}

std::vector<uint8_t> encode(const transaction& t) {
  writer w;
  write_tx_body(w, t);
  w.fixed(t.sig);
  return std::move(w.data());
}

caf::expected<transaction> decode_transaction(std::span<const uint8_t> bytes) {
  reader r{bytes};
  transaction t;
  if (!read_tx(r, t) || !r.at_end())
    return corrupted("malformed transaction of " + std::to_string(bytes.size()) + " bytes");
  return t;
}

std::vector<uint8_t> encode(const block& b) {
  writer w;
  write_header_body(w, b.header);
  w.fixed(b.header.sig);
  for (const auto& t : b.txs) {
    write_tx_body(w, t);
    w.fixed(t.sig);
  }
  return std::move(w.data());
}

caf::expected<block> decode_block(std::span<const uint8_t> bytes) {
  reader r{bytes};
  block b;
  if (r.u8() != format_version)
    return corrupted("block of an unknown format");
  b.header.height = r.u64();
  r.fixed(b.header.prev);
  r.fixed(b.header.merkle_root);
  b.header.time_ms = r.u64();
  b.header.tx_count = r.u32();
  r.fixed(b.header.proposer);
  r.fixed(b.header.sig);
  if (!r.ok() || b.header.tx_count > max_block_txs
      || b.header.tx_count > bytes.size() / min_tx_bytes)
    return corrupted("malformed block header");
  b.txs.resize(b.header.tx_count);
  for (auto& t : b.txs)
    if (!read_tx(r, t))
      return corrupted("block " + std::to_string(b.header.height)
                       + ": malformed transaction");
  if (!r.at_end())
    return corrupted("block " + std::to_string(b.header.height) + ": trailing bytes");
  return b;
}

} // namespace nexus::chain
