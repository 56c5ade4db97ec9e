// A submission as its submitter signs it and the ledger records it.
//
// The submitter signs the ledger record of its submission (chain/block.hpp): its account
// (the request's submitter), its budget, a fresh nonce, the work it pays for (its plan's
// rows and FLOP per row: chain::submission_terms, so that the ledger nodes check each
// contribution's work units instead of believing the hub's), the digest of the request
// (messages/codec.hpp: request_digest) and the task's id, which the submitter chooses at
// random below chain::internal_task_base: any hub it is offered to knows the task by it,
// so a task that moves to another hub is still one task, paid once. The orchestrator
// checks the signature before it accepts the task, and records the signed submission; the
// contract charges the signer's account, checks the signature again, and counts each
// nonce and each task id once.
#pragma once

#include <cstdint>

#include "chain/block.hpp"
#include "chain/contract.hpp"
#include "chain/identity.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

/// The ledger record of `req`, with the submitter's key and signature: as task
/// req.task_id, or `task_id` if the submitter chose none (an unnumbered submission).
chain::transaction submission_record(const task_request& req, uint64_t task_id = 0);

/// What a submission of `req` binds: its nonce, and the rows and FLOP per row of its plan
/// (no work for a training run, whose steps are planned as it goes, nor for a request
/// that does not plan, which the orchestrator refuses).
chain::submission_terms submission_terms_of(const task_request& req);

/// Signs `req` as its submitter with `key`: sets its key, a fresh random nonce, a random
/// task id if it has none, and the signature.
void sign_submission(task_request& req, const chain::node_key& key);

/// errc::rejected unless `req` carries a valid signature of its submitter; also refuses an
/// empty submitter name.
error check_submission(const task_request& req);

} // namespace nexus
