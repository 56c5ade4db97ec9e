// What the ledger answers: typed replies to typed questions, read from one node's chain
// store and contract. Plain C++; the ledger actor only carries them, and the shell makes
// their text.
#pragma once

#include "chain/ledger.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

/// Answers `q` against `ledger`: the fields of ledger_answer its question names.
/// errc::not_found for a block above the head; errc::corrupted if the store cannot
/// read a block its index names.
expected<ledger_answer> answer(const chain::ledger& ledger, const ledger_query& q);

/// How many blocks `tail` gives when its count is 0, and at most.
inline constexpr uint32_t default_tail = 10;
inline constexpr uint32_t max_tail = 100000;

} // namespace nexus
