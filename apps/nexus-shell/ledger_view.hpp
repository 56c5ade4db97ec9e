// The ledger's typed answers as the shell prints them: one line per balance, entry or
// block, and the audit's verdict. Text for people is made here and nowhere else.
#pragma once

#include <string>
#include <vector>

#include "messages/types.hpp"

namespace nexus::shell {

/// The lines `ledger QUESTION` prints for `a`, the answer to `q`.
std::vector<std::string> ledger_lines(const ledger_query& q, const ledger_answer& a);

} // namespace nexus::shell
