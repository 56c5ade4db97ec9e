// The ledger's answers as a program reads them: each recorded transaction as plain
// fields, and amounts of MCC as text. Part of NexusChain's public API
// (actors/api/nexus.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compute/errc.hpp"
#include "messages/values.hpp"

namespace nexus::api {

/// One transaction of a history or block answer (docs/LEDGER.md, "Records").
struct ledger_event {
  uint64_t height = 0;  // the block that holds it
  std::string kind;     // submission, contribution, verdict, reward, penalty, charge, ...
  uint64_t task_id = 0; // 0: none
  uint32_t shard_id = 0;
  std::string account;   // reward, penalty, charge, submission: whose balance
  std::string worker;    // contribution, verdict: who computed
  std::string validator; // verdict: who judged
  int64_t micro_mcc = 0; // payments; a submission's budget (0: none)
  bool valid = false;    // verdict
  uint64_t time_ms = 0;  // when it was recorded, by the wall clock (ms since the epoch)
  std::string text;      // the line nexus-shell prints for it
};

/// The transactions of `answer.entries`, in order; one that cannot be read is an event of
/// kind "unreadable" saying why.
std::vector<ledger_event> events_of(const ledger_answer& answer);

/// "12.5 MCC" from micro-MCC.
std::string format_mcc(int64_t micro_mcc);

/// Micro-MCC from a decimal amount of MCC ("2", "0.5", "12.000345"); errc::invalid_input
/// for anything else, negative amounts, more than six decimals, or above 10^12 MCC.
expected<int64_t> parse_mcc(const std::string& text);

} // namespace nexus::api
