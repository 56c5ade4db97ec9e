#include "chain/block.hpp"

#include <chrono>
#include <map>
#include <string_view>
#include <tuple>

#include <tbb/parallel_for.h>

#include "chain/encoding.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

// f(0) ... f(n - 1), on every core when there is enough to share: a few records are done
// on the calling thread, which then never joins oneTBB's workers (busy with a task's
// products in an embedded network) for microseconds of work.
template <class F>
void for_each_index(std::size_t n, F&& f) {
  constexpr std::size_t parallel_from = 256;
  if (n < parallel_from) {
    for (std::size_t i = 0; i < n; ++i)
      f(i);
    return;
  }
  tbb::parallel_for(std::size_t{0}, n, f);
}

// Format 2 added batch signatures, format 3 members, rules and the data field, format 4
// the state root, an unsigned first block and commit certificates. Older stores came from
// development builds only.
constexpr uint8_t format_version = 4;
constexpr std::size_t max_data_bytes = std::size_t{1}
                                       << 16; // a governance record's approvals
constexpr std::size_t max_proof_steps = 32;
// Signed instead of a body when a signer signs a batch: the tag keeps a batch root from
// ever passing for a transaction body, whose first byte is its format.
const std::string batch_tag = "nexuschain batch of transactions v1";
// The smallest encoded transaction (empty names), to bound what a header may claim.
constexpr std::size_t min_tx_bytes =
    2 + 8 + 4 + 4 + 3 * 4 + 8 + 32 + 1 + 8 + 8 + 4 + 32 + 64 + 1;

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
  w.bytes(t.data);
  w.fixed(t.signer);
}

bool read_tx(reader& r, transaction& t) {
  if (r.u8() != format_version)
    return false;
  auto kind = r.u8();
  if (kind < 1 || kind > static_cast<uint8_t>(tx_kind::governance))
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
  t.data = r.bytes(max_data_bytes);
  r.fixed(t.signer);
  r.fixed(t.sig);
  auto batched = r.u8();
  if (batched > 1)
    return false;
  t.batch.reset();
  if (batched == 1) {
    auto steps = r.u8();
    if (steps > max_proof_steps)
      return false;
    merkle_proof proof(steps);
    for (auto& step : proof) {
      r.fixed(step.sibling);
      auto left = r.u8();
      if (left > 1)
        return false;
      step.left = left == 1;
    }
    t.batch = std::move(proof);
  }
  return r.ok();
}

void write_tx(writer& w, const transaction& t) {
  write_tx_body(w, t);
  w.fixed(t.sig);
  w.u8(t.batch ? 1 : 0);
  if (t.batch) {
    w.u8(static_cast<uint8_t>(t.batch->size()));
    for (const auto& step : *t.batch) {
      w.fixed(step.sibling);
      w.u8(step.left ? 1 : 0);
    }
  }
}

std::vector<uint8_t> batch_statement(const digest& root) {
  writer w;
  w.text(batch_tag);
  w.fixed(root);
  return std::move(w.data());
}

void write_header_body(writer& w, const block_header& h) {
  w.u8(format_version);
  w.u64(h.height);
  w.fixed(h.prev);
  w.fixed(h.merkle_root);
  w.u64(h.time_ms);
  w.u32(h.tx_count);
  w.fixed(h.state_root);
  w.fixed(h.proposer);
}

error corrupted(const std::string& what) {
  return make_error(errc::corrupted, what);
}

} // namespace

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string to_string(tx_kind x) {
  switch (x) {
  case tx_kind::submission:
    return "submission";
  case tx_kind::contribution:
    return "contribution";
  case tx_kind::verdict:
    return "verdict";
  case tx_kind::reward:
    return "reward";
  case tx_kind::penalty:
    return "penalty";
  case tx_kind::charge:
    return "charge";
  case tx_kind::acceptance:
    return "acceptance";
  case tx_kind::audit:
    return "audit";
  case tx_kind::member:
    return "member";
  case tx_kind::rules:
    return "rules";
  case tx_kind::step:
    return "step";
  case tx_kind::evidence:
    return "evidence";
  case tx_kind::governance:
    return "governance";
  }
  return "unknown";
}

bool is_payment(const transaction& t) {
  return t.kind == tx_kind::reward || t.kind == tx_kind::penalty
         || t.kind == tx_kind::charge;
}

std::string form_problem(const transaction& t) {
  if (t.kind == tx_kind::submission && t.batch)
    return "a submission signed in a batch; a submitter signs alone";
  return {};
}

bool is_proposers(const transaction& t) {
  return is_payment(t) || t.kind == tx_kind::rules
         || (t.kind == tx_kind::member && t.sig == signature{});
}

int64_t balance_change(const transaction& t) {
  switch (t.kind) {
  case tx_kind::reward:
    return t.amount;
  case tx_kind::penalty:
  case tx_kind::charge:
    return -t.amount;
  default:
    return 0;
  }
}

std::vector<uint8_t> transaction::body() const {
  writer w;
  write_tx_body(w, *this);
  return std::move(w.data());
}

digest transaction::id() const {
  thread_local writer w; // one buffer per thread, written again for each id
  w.clear();
  write_tx_body(w, *this);
  return sha256(w.data());
}

std::vector<uint8_t> transaction::statement() const {
  return body();
}

namespace {

// A submission signed before its submitter chose its id: signed with task id 0 and
// numbered by the hub (its nonce makes it count once). Older chains hold these, and older
// clients still send them.
bool unnumbered_submission_valid(const transaction& t) {
  if (t.kind != tx_kind::submission || t.batch || t.task_id == 0)
    return false;
  auto unnumbered = t;
  unnumbered.task_id = 0;
  return verify(t.signer, unnumbered.body(), t.sig);
}

} // namespace

void transaction::sign_with(const node_key& key) {
  signer = key.public_bytes();
  batch.reset();
  sig = key.sign(statement());
}

std::vector<uint8_t> transaction::signed_message() const {
  return batch ? signed_message(id()) : statement();
}

std::vector<uint8_t> transaction::signed_message(const digest& id) const {
  if (!batch)
    return statement();
  return batch_statement(merkle_climb(id, *batch));
}

bool transaction::signature_valid() const {
  return verify(signer, signed_message(), sig) || unnumbered_submission_valid(*this);
}

void sign_batch(std::span<transaction> txs, const node_key& key) {
  for (auto& t : txs)
    t.signer = key.public_bytes();
  auto ids = ids_of(txs);
  auto proofs = merkle_prove_all(ids);
  auto sig = key.sign(batch_statement(merkle_root(ids)));
  for (std::size_t i = 0; i < txs.size(); ++i) {
    txs[i].sig = sig;
    txs[i].batch = std::move(proofs[i]);
  }
}

namespace {

// Which of `txs` carry a valid signature: each distinct (signer, message, signature) is
// verified once, on every core.
// What each of `txs` signs. Records of one batch given whole and in order (as a signer
// sends them) share their root: the batch's tree is built once, about two hashes a record,
// and each proof compared with it, where climbing every proof takes a hash per level.
std::vector<std::vector<uint8_t>>
signed_messages(const std::vector<const transaction*>& txs,
                const std::vector<const digest*>& ids) {
  std::vector<std::vector<uint8_t>> messages(txs.size());
  std::map<std::pair<public_key, signature>, std::vector<std::size_t>> batches;
  for (std::size_t i = 0; i < txs.size(); ++i)
    if (txs[i]->batch)
      batches[{txs[i]->signer, txs[i]->sig}].push_back(i);
  std::vector<uint8_t> climbed(txs.size(), 0); // 1: its message is made
  for (const auto& [claim, members] : batches) {
    if (members.size() < 2)
      continue;
    std::vector<digest> leaves;
    leaves.reserve(members.size());
    for (auto i : members)
      leaves.push_back(*ids[i]);
    auto levels = merkle_levels(leaves);
    bool whole = true;
    for (std::size_t j = 0; j < members.size() && whole; ++j)
      whole = merkle_proof_matches(levels, j, *txs[members[j]]->batch);
    if (!whole)
      continue; // part of a batch, or another order: each climbs its own proof
    auto message = batch_statement(levels.back().front());
    for (auto i : members) {
      messages[i] = message;
      climbed[i] = 1;
    }
  }
  for_each_index(txs.size(), [&](std::size_t i) {
    if (!climbed[i])
      messages[i] = txs[i]->signed_message(*ids[i]);
  });
  return messages;
}

std::vector<bool> valid_signatures(const std::vector<const transaction*>& txs,
                                   const std::vector<const digest*>& ids) {
  auto messages = signed_messages(txs, ids);
  using claim =
      std::tuple<const public_key*, const std::vector<uint8_t>*, const signature*>;
  auto less = [](const claim& x, const claim& y) {
    return std::tie(*std::get<0>(x), *std::get<1>(x), *std::get<2>(x))
           < std::tie(*std::get<0>(y), *std::get<1>(y), *std::get<2>(y));
  };
  std::map<claim, std::size_t, decltype(less)> index_of{less};
  std::vector<claim> claims;
  std::vector<std::size_t> claim_of(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) {
    claim c{&txs[i]->signer, &messages[i], &txs[i]->sig};
    auto [at, added] = index_of.try_emplace(c, claims.size());
    if (added)
      claims.push_back(c);
    claim_of[i] = at->second;
  }
  std::vector<uint8_t> good(claims.size(), 0);
  for_each_index(claims.size(), [&](std::size_t i) {
    auto [key, message, sig] = claims[i];
    good[i] = verify(*key, *message, *sig);
  });
  std::vector<bool> out(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i)
    out[i] = good[claim_of[i]] != 0 || unnumbered_submission_valid(*txs[i]);
  return out;
}

} // namespace

std::vector<bool> signatures_valid(std::span<const transaction> txs) {
  auto ids = ids_of(txs);
  return signatures_valid(txs, ids);
}

std::vector<bool> signatures_valid(std::span<const transaction> txs,
                                   std::span<const digest> ids) {
  std::vector<const transaction*> all;
  std::vector<const digest*> all_ids;
  all.reserve(txs.size());
  all_ids.reserve(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) {
    all.push_back(&txs[i]);
    all_ids.push_back(&ids[i]);
  }
  return valid_signatures(all, all_ids);
}

std::vector<digest> ids_of(std::span<const transaction> txs) {
  std::vector<digest> ids(txs.size());
  for_each_index(txs.size(), [&](std::size_t i) { ids[i] = txs[i].id(); });
  return ids;
}

std::vector<uint8_t> block_header::body() const {
  writer w;
  write_header_body(w, *this);
  return std::move(w.data());
}

digest block_header::hash() const {
  return sha256(body());
}

namespace {

block unsigned_block(uint64_t height, const digest& prev, std::vector<transaction> txs,
                     const std::vector<digest>& ids, uint64_t time_ms,
                     const digest& state_root) {
  block b;
  b.header.height = height;
  b.header.prev = prev;
  b.header.merkle_root = merkle_root(ids);
  b.header.time_ms = time_ms;
  b.header.tx_count = static_cast<uint32_t>(txs.size());
  b.header.state_root = state_root;
  b.txs = std::move(txs);
  return b;
}

} // namespace

block seal(uint64_t height, const digest& prev, std::vector<transaction> txs,
           uint64_t time_ms, const digest& state_root, const node_key& proposer) {
  auto ids = ids_of(txs);
  return seal(height, prev, std::move(txs), ids, time_ms, state_root, proposer);
}

block seal(uint64_t height, const digest& prev, std::vector<transaction> txs,
           const std::vector<digest>& ids, uint64_t time_ms, const digest& state_root,
           const node_key& proposer) {
  auto b = unsigned_block(height, prev, std::move(txs), ids, time_ms, state_root);
  b.header.proposer = proposer.public_bytes();
  b.header.sig = proposer.sign(b.header.body());
  return b;
}

block first_block(std::vector<transaction> txs, uint64_t time_ms,
                  const digest& state_root) {
  auto ids = ids_of(txs);
  return unsigned_block(0, {}, std::move(txs), ids, time_ms, state_root);
}

digest state_root(const std::map<std::string, int64_t>& balances) {
  std::vector<digest> leaves;
  leaves.reserve(balances.size());
  for (const auto& [account, balance] : balances) {
    writer w;
    w.text(account);
    w.i64(balance);
    leaves.push_back(sha256(w.data()));
  }
  return merkle_root(leaves);
}

error check(const block& b) {
  auto ids = ids_of(b.txs);
  return check(b, ids, {});
}

error check(const block& b, std::span<const digest> ids, const std::vector<bool>& known) {
  auto at = "block " + std::to_string(b.header.height) + ": ";
  if (b.txs.size() > max_block_records)
    return corrupted(at + std::to_string(b.txs.size()) + " transactions, above the "
                     + std::to_string(max_block_records) + " a block may hold");
  if (b.header.tx_count != b.txs.size())
    return corrupted(at + "header says " + std::to_string(b.header.tx_count)
                     + " transactions, body has " + std::to_string(b.txs.size()));
  if (b.header.height == 0) {
    if (b.header.proposer != public_key{} || b.header.sig != signature{}
        || b.header.prev != digest{})
      return corrupted(at + "the first block is signed by nobody and follows nothing");
  } else if (!verify(b.header.proposer, b.header.body(), b.header.sig)) {
    return corrupted(at + "the proposer's signature does not match the header");
  }
  // Inputs carry their authors' signatures; payments are derived by the contract and
  // covered by the proposer's signature of the header (through the Merkle root).
  if (ids.size() != b.txs.size() || (!known.empty() && known.size() != b.txs.size()))
    return corrupted(at + "checked with the ids of another block");
  std::vector<const transaction*> inputs; // whose signatures are to check
  std::vector<const digest*> input_ids;
  std::vector<std::size_t> position;
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    const auto& t = b.txs[i];
    if (!is_proposers(t)) {
      if (auto why = form_problem(t); !why.empty())
        return corrupted(at + "transaction " + std::to_string(i) + ": " + why);
      if (known.empty() || !known[i]) {
        inputs.push_back(&t);
        input_ids.push_back(&ids[i]);
        position.push_back(i);
      }
      continue;
    }
    auto bad = [&](const std::string& what) {
      return corrupted(at + "transaction " + std::to_string(i) + " (" + to_string(t.kind)
                       + ") is the proposer's but " + what);
    };
    if (t.signer != b.header.proposer)
      return bad("names another signer");
    if (t.sig != signature{} || t.batch)
      return bad("carries a signature or a batch proof");
    if (t.time_ms != b.header.time_ms)
      return bad("has another time than its block");
    if (t.kind == tx_kind::member && b.header.height != 0)
      return bad("is unsigned outside the first block");
  }
  auto good = valid_signatures(inputs, input_ids);
  for (std::size_t j = 0; j < inputs.size(); ++j)
    if (!good[j])
      return corrupted(at + "transaction " + std::to_string(position[j]) + " ("
                       + to_string(inputs[j]->kind) + ") has a bad signature");
  if (merkle_root(ids) != b.header.merkle_root)
    return corrupted(at + "the Merkle root does not match the transactions");
  return {};
}

std::vector<uint8_t> encode(const transaction& t) {
  writer w;
  write_tx(w, t);
  return std::move(w.data());
}

expected<transaction> decode_transaction(std::span<const uint8_t> bytes) {
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
  for (const auto& t : b.txs)
    write_tx(w, t);
  return std::move(w.data());
}

expected<block> decode_block(std::span<const uint8_t> bytes) {
  reader r{bytes};
  block b;
  if (auto format = r.u8(); format != format_version)
    return corrupted("block of format " + std::to_string(format)
                     + "; this build reads format " + std::to_string(format_version)
                     + (format == 1
                            ? " (format 1 came from development builds before batch "
                              "signatures: move that ledger directory aside)"
                            : ""));
  b.header.height = r.u64();
  r.fixed(b.header.prev);
  r.fixed(b.header.merkle_root);
  b.header.time_ms = r.u64();
  b.header.tx_count = r.u32();
  r.fixed(b.header.state_root);
  r.fixed(b.header.proposer);
  r.fixed(b.header.sig);
  if (!r.ok() || b.header.tx_count > max_block_records
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
