// A small network's keys and well-formed ledger records, for the chain's tests, the crash
// test's appender and the ledger benchmark: a hub (orchestrator and ledger), validators v1
// and v2, workers w1, w2 and faulty, and a submitter alice, each with its own key.
#pragma once

#include <filesystem>
#include <string>

#include <openssl/rand.h>

#include "chain/contract.hpp"
#include "chain/ledger.hpp"

namespace nexus::test {

struct chain_keys {
  chain::node_key hub, v1, v2, w1, w2, faulty, alice;

  static chain::node_key make(const std::filesystem::path& dir, const std::string& name) {
    return dir.empty() ? chain::node_key::generate().value()
                       : chain::node_key::load_or_create(dir / name).value();
  }

  /// Fresh keys, or those kept in `dir` (created on first use).
  static chain_keys in(const std::filesystem::path& dir = {}) {
    return {make(dir, "hub"), make(dir, "v1"),     make(dir, "v2"),   make(dir, "w1"),
            make(dir, "w2"),  make(dir, "faulty"), make(dir, "alice")};
  }

  const chain::node_key& key_of(const std::string& name) const {
    return name == "v1"       ? v1
           : name == "v2"     ? v2
           : name == "w1"     ? w1
           : name == "w2"     ? w2
           : name == "faulty" ? faulty
           : name == "alice"  ? alice
                              : hub;
  }

  /// The first block: the hub proposes and orchestrates, the others are members.
  chain::genesis start(chain::contract_rules rules = {}) const {
    using chain::bit;
    using chain::role;
    chain::genesis g{.rules = rules};
    g.members = {{"hub", hub.public_bytes(), bit(role::orchestrator) | bit(role::ledger)},
                 {"v1", v1.public_bytes(), bit(role::validator)},
                 {"v2", v2.public_bytes(), bit(role::validator)},
                 {"w1", w1.public_bytes(), bit(role::worker)},
                 {"w2", w2.public_bytes(), bit(role::worker)},
                 {"faulty", faulty.public_bytes(), bit(role::worker)}};
    return g;
  }

  /// Task `task` submitted by alice, signed by her, with a fresh nonce; binding `rows`
  /// rows of `flops_per_row` FLOP each (0: the older form, which binds no work).
  chain::transaction submission(uint64_t task, int64_t budget = 0, uint64_t rows = 0,
                                uint64_t flops_per_row = 0) const {
    chain::transaction t;
    t.kind = chain::tx_kind::submission;
    t.task_id = task;
    t.account = "alice";
    t.amount = budget;
    chain::submission_terms terms{.rows = rows, .flops_per_row = flops_per_row};
    RAND_bytes(reinterpret_cast<unsigned char*>(&terms.nonce), sizeof(terms.nonce));
    t.data = chain::terms_data(terms);
    t.sign_with(alice);
    return t;
  }

  /// The hub states that `worker` computed (task, shard, attempt).
  chain::transaction contribution(uint64_t task, uint32_t shard, uint32_t attempt,
                                  const std::string& worker, uint8_t result = 1,
                                  uint64_t units = 1000) const {
    chain::transaction t;
    t.kind = chain::tx_kind::contribution;
    t.task_id = task;
    t.shard_id = shard;
    t.attempt = attempt;
    t.worker = worker;
    t.work_units = units;
    t.result[0] = result;
    t.sign_with(hub);
    return t;
  }

  /// The hub states that `worker` computed rows [begin, end) of (task, shard, attempt).
  chain::transaction contribution_of_rows(uint64_t task, uint32_t shard, uint32_t attempt,
                                          const std::string& worker, uint64_t begin,
                                          uint64_t end, uint64_t units) const {
    auto t = contribution(task, shard, attempt, worker, 1, units);
    t.data = chain::rows_data(begin, end);
    t.sign_with(hub);
    return t;
  }

  /// `validator`'s signed verdict on contribution `c`.
  chain::transaction verdict(const chain::transaction& c, bool valid,
                             const std::string& validator = "v1") const {
    chain::transaction t;
    t.kind = chain::tx_kind::verdict;
    t.task_id = c.task_id;
    t.shard_id = c.shard_id;
    t.attempt = c.attempt;
    t.worker = c.worker;
    t.validator = validator;
    t.result = c.result;
    t.valid = valid;
    t.sign_with(key_of(validator));
    return t;
  }
};

} // namespace nexus::test
