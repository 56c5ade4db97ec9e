#include "actors/core/submission.hpp"

#include <openssl/rand.h>

#include <cmath>

#include "actors/core/workload.hpp"
#include "chain/contract.hpp"
#include "messages/codec.hpp"

namespace nexus {

chain::transaction submission_record(const task_request& req, uint64_t task_id) {
  chain::transaction t;
  t.kind = chain::tx_kind::submission;
  t.task_id = req.task_id != 0 ? req.task_id : task_id;
  t.account = req.submitter;
  t.amount = req.budget;
  t.result = wire::request_digest(req);
  t.data = chain::terms_data(submission_terms_of(req));
  t.signer = req.submitter_key;
  t.sig = req.submitter_signature;
  return t;
}

chain::submission_terms submission_terms_of(const task_request& req) {
  chain::submission_terms terms{.nonce = req.nonce, .hubs = req.hubs};
  const auto& kind = workload_of(req);
  if (kind.is_run())
    return terms;
  if (auto plan = kind.plan(req, 1); plan && plan->rows > 0 && plan->flops_per_row >= 1) {
    terms.rows = plan->rows;
    terms.flops_per_row = static_cast<uint64_t>(std::llround(plan->flops_per_row));
  }
  return terms;
}

void sign_submission(task_request& req, const chain::node_key& key) {
  auto random = [] {
    uint64_t x = 0;
    while (x == 0)
      RAND_bytes(reinterpret_cast<unsigned char*>(&x), sizeof(x));
    return x;
  };
  req.nonce = random();
  if (req.task_id == 0) // below the ids hubs give their own tasks
    req.task_id = 1 + random() % (chain::internal_task_base - 1);
  req.submitter_key = key.public_bytes();
  auto t = submission_record(req);
  t.sign_with(key);
  req.submitter_signature = t.sig;
}

error check_submission(const task_request& req) {
  if (req.submitter.empty())
    return make_error(errc::rejected, "a submission names its submitter");
  if (req.submitter_key == chain::public_key{})
    return make_error(errc::rejected, "submission by " + req.submitter
                                          + " is not signed: a network with a ledger takes "
                                            "only submissions signed by their submitter");
  if (!submission_record(req).signature_valid())
    return make_error(errc::rejected, "the signature of " + req.submitter
                                          + "'s submission does not match it");
  return {};
}

} // namespace nexus
