// Ledger records: transactions and the signed, hash-chained blocks that hold them.
//
// A transaction's id is the SHA-256 of its canonical body (everything but the signature).
// Inputs are signed by who states them: a submission by its submitter, a verdict by its
// validator, a contribution, acceptance, audit or join by the orchestrator
// (chain/membership.hpp says which key may sign what). The proposer's records are the
// first block's members and rules, and the payments the contract
// derives: they carry the proposer as signer, no signature and the block's time, and are
// covered by the proposer's signature of the header, whose Merkle root commits to every
// transaction's id. So every stored byte is signed by someone.
//
// A signer may sign a batch at once: one signature over the Merkle root of the batch's
// ids, each transaction carrying that signature and its own inclusion proof. Checking a
// block then costs one verification per batch instead of one per transaction (an
// Ed25519 verification is ~0.1 ms; a proof of a 1,000-transaction batch is ten SHA-256
// compressions), and each transaction still stands alone: its proof and the signature
// show that its signer stated exactly it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chain/hash.hpp"
#include "chain/identity.hpp"
#include "chain/merkle.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

enum class tx_kind : uint8_t {
  submission = 1,   // a submitter's task and budget
  contribution = 2, // a worker computed a shard (work units from the planner)
  verdict = 3,      // a validator judged a shard's result
  reward = 4,       // MCC paid to an account
  penalty = 5,      // MCC taken from an account for rejected work
  charge = 6,       // MCC taken from a submitter for the work its task was paid
  acceptance = 7,   // the orchestrator accepted a result unchecked, on its worker's record
  audit = 8,        // an audit overturned a validator's verdict (validator, attempt)
  member = 9,       // binds `account` to a key and roles (data: member_data)
  rules = 10,       // the contract's rules from the next record on (data: rules_data)
  step = 11,        // task_id is a step of the run in data (u64), whose submission pays
  evidence = 12,    // a ledger node (account) signed two different consensus votes of one
                    // kind, height and round (data: both, chain/consensus.hpp)
  governance = 13,  // new rules from a stated height, approved by more than two thirds of
                    // the ledger nodes (data: chain/governance.hpp)
};

std::string to_string(tx_kind x);

/// Milliseconds since the Unix epoch, by the wall clock: the time records and blocks
/// carry.
uint64_t now_ms();

struct transaction {
  tx_kind kind = tx_kind::contribution;
  uint64_t task_id = 0;
  uint32_t shard_id = 0;
  uint32_t attempt = 0;
  std::string worker;    // contribution, verdict: who computed
  std::string validator; // verdict: who judged
  std::string account;   // reward, penalty, charge, submission: whose balance
  uint64_t work_units = 0;
  digest result{};    // contribution, verdict: the result's digest
  bool valid = false; // verdict
  int64_t amount = 0; // payments; a submission's budget (0: none); in micro-MCC
  uint64_t time_ms = 0;
  std::vector<uint8_t> data; // member: key and roles; rules; submission: its nonce
  public_key signer{};
  signature sig{};
  /// Set when `sig` signs a batch: the path from this transaction's id to the root the
  /// signer signed.
  std::optional<merkle_proof> batch;

  /// The canonical body: every field but the signature.
  std::vector<uint8_t> body() const;

  /// What the signer states: the body. A submitter signs its task's id with it; a
  /// submission signed with task id 0 and numbered by the hub (older clients and chains)
  /// verifies too, its nonce making it count once.
  std::vector<uint8_t> statement() const;

  /// The id: SHA-256 of the body.
  digest id() const;

  /// Signs the body with `key` (and sets `signer`).
  void sign_with(const node_key& key);

  /// True if `sig` is the signer's, over the body or over a batch holding it.
  bool signature_valid() const;

  /// What `sig` signs: the statement, or the batch statement of the root `batch` leads to
  /// from the id.
  std::vector<uint8_t> signed_message() const;
  std::vector<uint8_t> signed_message(const digest& id) const; // id: this->id()

  friend bool operator==(const transaction&, const transaction&) = default;
};

/// The most records a block holds (a decoder refuses more), and so the most inputs one
/// block takes: each may earn up to three payments.
constexpr std::size_t max_block_records = std::size_t{1} << 20;
constexpr std::size_t max_block_inputs = max_block_records / 4;

/// Why an input record cannot stand in any block whatever its signature (a submission
/// signed in a batch: a submitter signs alone), or nothing.
std::string form_problem(const transaction& t);

/// Rewards, penalties and charges: what the contract derives (never an input).
bool is_payment(const transaction& t);

/// A record of the proposer's own (see above): a payment, a rules record, or a member
/// record without a signature (the first block's members).
bool is_proposers(const transaction& t);

/// What a payment adds to its account's balance (negative for penalties and charges).
int64_t balance_change(const transaction& t);

/// Signs every transaction of `txs` with one signature of `key` over the Merkle root of
/// their ids (sets signer, sig and batch).
void sign_batch(std::span<transaction> txs, const node_key& key);

/// Which of `txs` carry a valid signature: each distinct (signer, message, signature) is
/// verified once, on every core.
std::vector<bool> signatures_valid(std::span<const transaction> txs);
/// The same for transactions whose ids are `ids` (ids[i] is txs[i].id()).
std::vector<bool> signatures_valid(std::span<const transaction> txs,
                                   std::span<const digest> ids);

/// Each transaction's id, in order (on every core for many).
std::vector<digest> ids_of(std::span<const transaction> txs);

struct block_header {
  uint64_t height = 0;
  digest prev{};        // hash of the previous block's header; zero for height 0
  digest merkle_root{}; // over the transactions' ids
  uint64_t time_ms = 0;
  uint32_t tx_count = 0;
  digest state_root{};   // state_root() of every balance after the block
  public_key proposer{}; // zero in the first block, which nobody signs
  signature sig{};

  std::vector<uint8_t> body() const;

  /// The block's hash: SHA-256 of the header body.
  digest hash() const;

  friend bool operator==(const block_header&, const block_header&) = default;
};

struct block {
  block_header header;
  std::vector<transaction> txs;

  friend bool operator==(const block&, const block&) = default;
};

/// Builds and signs block `height` on top of `prev` from `txs`, with the state root after
/// it.
block seal(uint64_t height, const digest& prev, std::vector<transaction> txs,
           uint64_t time_ms, const digest& state_root, const node_key& proposer);
/// The same for transactions whose ids are `ids` (ids[i] is txs[i].id()).
block seal(uint64_t height, const digest& prev, std::vector<transaction> txs,
           const std::vector<digest>& ids, uint64_t time_ms, const digest& state_root,
           const node_key& proposer);

/// The first block: the network's definition, signed by nobody (its proposer's records
/// name the zero key), named by its hash.
block first_block(std::vector<transaction> txs, uint64_t time_ms, const digest& state_root);

/// The commitment to every balance: the Merkle root over SHA-256(text(account) ||
/// i64(balance)) for each stored balance, in account order (the canonical encoding's
/// length-prefixed text and little-endian integer).
digest state_root(const std::map<std::string, int64_t>& balances);

/// Checks a block by itself: Merkle root, transaction count, the header's signature (none
/// at height 0: the first block is unsigned, its proposer the zero key),
/// every input's signature, and the form of the proposer's records (the proposer as
/// signer, no signature or proof, the block's time; members without a signature only in
/// the first block). Who may sign is the contract's to check. errc::corrupted with what
/// is wrong. Checks signatures on every core.
error check(const block& b);

/// check() of a block whose transactions' ids are `ids` (ids[i] is b.txs[i].id()), where
/// the caller checked the signature of each transaction i with known[i] before (empty:
/// none; a transaction's id does not cover its signature, so only the caller can know
/// that it holds the very same record).
error check(const block& b, std::span<const digest> ids, const std::vector<bool>& known);

/// Canonical bytes of a whole block, and back (errc::corrupted for bad bytes).
std::vector<uint8_t> encode(const block& b);
expected<block> decode_block(std::span<const uint8_t> bytes);

/// Canonical bytes of a transaction, and back.
std::vector<uint8_t> encode(const transaction& t);
expected<transaction> decode_transaction(std::span<const uint8_t> bytes);

} // namespace nexus::chain
