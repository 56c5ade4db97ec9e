// A submission as its submitter signs it and the ledger records it.
//
// The submitter signs the ledger record of its submission (chain/block.hpp): its account
// (the request's submitter), its budget, a fresh nonce, the work it pays for (its plan's
// rows and FLOP per row: chain::submission_terms, so that the ledger nodes check each
// contribution's work units instead of believing the hub's) and the digest of the request
// (messages/codec.hpp: request_digest), with task id 0, since the network numbers a task
// only once it is accepted. The orchestrator checks the signature before it accepts the
// task, and records the signed submission with the task's id; the contract charges the
// signer's account, checks the signature again, and counts each nonce once.
#pragma once

#include <cstdint>

#include "chain/block.hpp"
#include "chain/contract.hpp"
#include "chain/identity.hpp"
#include "compute/errc.hpp"
#include "messages/types.hpp"

namespace nexus {

/// The ledger record of `req` as task `task_id`, with the submitter's key and signature.
chain::transaction submission_record(const task_request& req, uint64_t task_id = 0);

/// What a submission of `req` binds: its nonce, and the rows and FLOP per row of its plan
/// (no work for a training run, whose steps are planned as it goes, nor for a request
/// that does not plan, which the orchestrator refuses).
chain::submission_terms submission_terms_of(const task_request& req);

/// Signs `req` as its submitter with `key`: sets its key, a fresh random nonce and the
/// signature.
void sign_submission(task_request& req, const chain::node_key& key);

/// errc::rejected unless `req` carries a valid signature of its submitter; also refuses an
/// empty submitter name.
error check_submission(const task_request& req);

} // namespace nexus
