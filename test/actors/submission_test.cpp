// Submitters sign what they pay for: an embedded network with a ledger takes only
// submissions signed by their submitter, charges the signer's account, and keeps each
// node's key across sessions so that its name keeps the key the ledger bound it to.
#include <catch2/catch.hpp>

#include <limits>

#include "actors/core/submission.hpp"
#include "actors/gateway.hpp"
#include "actors/worker.hpp"
#include "chain/block.hpp"
#include "chain/contract.hpp"
#include "compute/gemm.hpp"
#include "compute/tensor.hpp"
#include "messages/codec.hpp"
#include "test/support/embedded.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;
using namespace nexus::test;

namespace {

// A request for A * B over blobs the network holds, as a client would send it.
task_request product(client& api, uint64_t seed) {
  auto a = api.upload(compute::random_tensor({40, 20}, seed));
  auto b = api.upload(compute::random_tensor({20, 10}, seed + 1));
  REQUIRE(a);
  REQUIRE(b);
  task_request req;
  req.workload = workload_kind::matmul;
  req.matmul.a = *a;
  req.matmul.b = *b;
  req.submitter = "alice";
  return req;
}

expected<task_ack> send(fixture& f, const task_request& req) {
  caf::scoped_actor self{f.sys};
  expected<task_ack> out{errc::failed};
  self->request(f.net.orchestrator, 10s, submit_atom::value, wire::encode(req))
      .receive([&](const wire::task_ack& ack) { out = wire::decode(ack); },
               [&](const caf::error& err) { out = from_caf(err); });
  return out;
}

} // namespace

TEST_CASE("a network with a ledger takes only submissions their submitter signed",
          "[actors][submission]") {
  temp_dir dir;
  embedded_options opts{2, 1};
  opts.data_dir = dir.path();
  fixture f{opts};
  auto alice = chain::node_key::generate().value();

  auto unsigned_req = product(*f.api, 1);
  auto refused = send(f, unsigned_req);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("is not signed"));

  // Signed, then its budget raised: the signature no longer matches.
  auto altered = product(*f.api, 1);
  sign_submission(altered, alice);
  altered.budget = 1'000'000'000;
  refused = send(f, altered);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("does not match"));

  // Signed by alice: accepted, and the ledger charges alice for it.
  auto req = product(*f.api, 1);
  sign_submission(req, alice);
  auto ack = send(f, req);
  REQUIRE(ack);
  auto report = f.api->wait(ack->task_id, {}, 60s);
  REQUIRE(report);
  CHECK(report->state == task_state::done);
  auto history = f.api->ledger({.question = ledger_question::history, .account = "alice"});
  REQUIRE(history);
  bool submitted = false;
  for (const auto& e : history->entries) {
    auto t = chain::decode_transaction(e.transaction);
    REQUIRE(t);
    if (t->kind == chain::tx_kind::submission) {
      submitted = true;
      CHECK(t->signer == alice.public_bytes());
      CHECK(t->task_id == ack->task_id);
      CHECK(t->signature_valid());
      // Alice signed the work she pays for: 40 rows of 2 * 20 * 10 FLOP, which the ledger
      // nodes hold each contribution's work units to.
      auto terms = chain::terms_of(*t);
      REQUIRE(terms);
      CHECK(terms->nonce == req.nonce);
      CHECK(terms->rows == 40);
      CHECK(terms->flops_per_row == 400);
    }
  }
  CHECK(submitted);
  auto balance = f.api->ledger({.question = ledger_question::balance, .account = "alice"});
  REQUIRE(balance);
  REQUIRE(balance->balances.size() == 1);
  CHECK(balance->balances[0].micro_mcc < 0);

  // Another key in alice's name, and alice's own submission replayed: refused before
  // any work.
  auto mallory = chain::node_key::generate().value();
  auto impostor = product(*f.api, 3);
  sign_submission(impostor, mallory);
  refused = send(f, impostor);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("alice is bound on the ledger"));
  // One signed the older way, with task id 0 for the hub to number: its nonce counts once.
  auto unnumbered = product(*f.api, 2);
  sign_submission(unnumbered, alice);
  unnumbered.task_id = 0;
  auto record = submission_record(unnumbered);
  record.sign_with(alice);
  unnumbered.submitter_signature = record.sig;
  auto numbered = send(f, unnumbered);
  REQUIRE(numbered);
  REQUIRE(f.api->wait(numbered->task_id, {}, 60s));
  balance = f.api->ledger({.question = ledger_question::balance, .account = "alice"});
  REQUIRE(balance);
  refused = send(f, unnumbered);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("replayed submission"));
  // Sent again as it is, it is the same task (a client that lost the answer, or moved
  // back to this hub): the same id, nothing computed or charged again.
  auto again = send(f, req);
  REQUIRE(again);
  CHECK(again->task_id == ack->task_id);
  // Its id under another nonce is another submission's.
  auto other = product(*f.api, 1);
  other.task_id = req.task_id;
  sign_submission(other, alice);
  refused = send(f, other);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("names another submission"));
  auto after = f.api->ledger({.question = ledger_question::balance, .account = "alice"});
  REQUIRE(after);
  CHECK(after->balances[0].micro_mcc == balance->balances[0].micro_mcc);
  auto verified = f.api->ledger({.question = ledger_question::verify});
  REQUIRE(verified);
  CHECK(verified->audit_ok);
}

TEST_CASE("an embedded network's nodes keep their keys across sessions",
          "[actors][submission]") {
  temp_dir dir;
  embedded_options opts{2, 2};
  opts.data_dir = dir.path();
  std::string key_file;
  for (int session = 0; session < 2; ++session) {
    fixture f{opts};
    auto [report, c] = f.run(compute::random_tensor({30, 20}, 5 + session),
                             compute::random_tensor({20, 10}, 6 + session));
    CHECK(report.state == task_state::done);
    auto verified = f.api->ledger({.question = ledger_question::verify});
    REQUIRE(verified);
    INFO(verified->audit_problem);
    CHECK(verified->audit_ok);
    // Both sessions' validators were paid: their verdicts were signed by the keys the
    // first block bound their names to.
    auto v1 =
        f.api->ledger({.question = ledger_question::balance, .account = "validator-1"});
    REQUIRE(v1);
    REQUIRE(v1->balances.size() == 1);
    CHECK(v1->balances[0].micro_mcc > 0);
  }
  CHECK(std::filesystem::exists(dir.path() / "nodes" / "validator-1" / "node.key"));
  CHECK(std::filesystem::exists(dir.path() / "nodes" / "worker-2" / "node.key"));
}

TEST_CASE("an orchestrator that never saw an account asks the ledger whose it is",
          "[actors][submission]") {
  temp_dir dir;
  embedded_options opts{2, 1};
  opts.data_dir = dir.path();
  auto alice = chain::node_key::generate().value();
  {
    fixture f{opts};
    auto req = product(*f.api, 1);
    sign_submission(req, alice);
    auto ack = send(f, req);
    REQUIRE(ack);
    REQUIRE(f.api->wait(ack->task_id, {}, 60s));
  }
  // A new session: the orchestrator learns alice's key from the chain, and refuses
  // another key in her name before any work.
  fixture f{opts};
  auto mallory = chain::node_key::generate().value();
  auto impostor = product(*f.api, 3);
  sign_submission(impostor, mallory);
  auto refused = send(f, impostor);
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("alice is bound on the ledger"));
  auto members = f.api->ledger({.question = ledger_question::members, .account = "alice"});
  REQUIRE(members);
  REQUIRE(members->members.size() == 1);
  CHECK(members->members[0].key == alice.public_bytes());
  CHECK(members->members[0].roles == 32); // a submitter
}

TEST_CASE("a name bound on the chain cannot join with another key",
          "[actors][submission]") {
  temp_dir dir;
  embedded_options opts{2, 1};
  opts.data_dir = dir.path();
  fixture f{opts};
  // Someone takes the name worker-9 first, as a submitter.
  auto squatter = chain::node_key::generate().value();
  auto req = product(*f.api, 1);
  req.submitter = "worker-9";
  sign_submission(req, squatter);
  auto ack = send(f, req);
  REQUIRE(ack);
  REQUIRE(f.api->wait(ack->task_id, {}, 60s));
  // A worker of that name, with its own key, is refused with the reason.
  worker_config cfg{.name = "worker-9",
                    .store = f.net.store,
                    .device = "cpu",
                    .key = chain::node_key::generate().value()};
  auto info = describe_worker(cfg);
  REQUIRE(info);
  auto pub = cfg.key->public_bytes();
  info->public_key.assign(pub.begin(), pub.end());
  auto handle = spawn_worker(f.sys, std::move(cfg));
  caf::scoped_actor self{f.sys};
  std::string why;
  self->request(f.net.orchestrator, 10s, join_atom::value, wire::encode(*info), handle)
      .receive([&](uint32_t) { why = "joined"; },
               [&](const caf::error& err) { why = describe(from_caf(err)); });
  CHECK_THAT(why, Catch::Contains("worker-9 is bound on the ledger to another key"));
  caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
}

TEST_CASE("only a task's submitter can cancel it, and only that task", "[actors][cancel]") {
  temp_dir dir;
  embedded_options opts{2, 1};
  opts.data_dir = dir.path();
  fixture f{opts};
  auto alice = chain::node_key::generate().value();
  f.api->sign_as("alice", alice);
  task_request big;
  big.shards = 80; // under way for a while on two workers
  auto ack = f.api->submit_matmul(compute::random_tensor({2000, 2000}, 1),
                                  compute::random_tensor({2000, 2000}, 2), big);
  REQUIRE(ack);
  auto cancel_as = [&](uint64_t task_id, const chain::signature& sig) {
    caf::scoped_actor self{f.sys};
    expected<task_report> out{errc::failed};
    self->request(f.net.orchestrator, 10s, cancel_atom::value,
                  wire::encode(cancel_request{.task_id = task_id, .signature = sig}))
        .receive([&](const wire::task_report& r) { out = wire::decode(r); },
                 [&](const caf::error& err) { out = from_caf(err); });
    return out;
  };

  // Another submitter's key, alice's signature of another task's cancel, and no signature.
  client mallory{f.sys, f.net.orchestrator, f.net.store, 10s};
  auto refused = mallory.cancel(ack->task_id);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::invalid_input));
  CHECK_THAT(describe(refused.error()), Catch::Contains("did not sign"));
  auto nonce = f.api->status(ack->task_id)->submission_nonce;
  CHECK(nonce != 0);
  // Alice's cancel of another submission under this id (another nonce) does not hold.
  refused =
      cancel_as(ack->task_id, alice.sign(wire::cancel_statement(ack->task_id, nonce + 1)));
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("did not sign"));
  refused =
      cancel_as(ack->task_id, alice.sign(wire::cancel_statement(ack->task_id + 1, nonce)));
  REQUIRE_FALSE(refused);
  CHECK_THAT(describe(refused.error()), Catch::Contains("did not sign"));
  refused = cancel_as(ack->task_id, chain::signature{});
  REQUIRE_FALSE(refused);
  auto running = f.api->status(ack->task_id);
  REQUIRE(running);
  CHECK(running->state != task_state::cancelled);
  CHECK_FALSE(mallory.cancel(ack->task_id + 12345)); // no such task

  // Alice's own: cancelled at once, its output never comes, and the network goes on.
  auto cancelled = f.api->cancel(ack->task_id);
  REQUIRE(cancelled);
  CHECK(cancelled->state == task_state::cancelled);
  CHECK(cancelled->reason == "cancelled by its submitter");
  CHECK(cancelled->shards_validated < cancelled->shard_count);
  auto output = f.api->result(ack->task_id);
  REQUIRE_FALSE(output);
  CHECK_THAT(describe(output.error()), Catch::Contains("cancelled"));
  auto again = f.api->cancel(ack->task_id); // already over: stays as it is
  REQUIRE(again);
  CHECK(again->state == task_state::cancelled);
  auto a = compute::random_tensor({60, 40}, 3);
  auto b = compute::random_tensor({40, 30}, 4);
  auto [report, c] = f.run(a, b);
  CHECK(report.state == task_state::done);
  CHECK(compute::max_relative_difference(c, compute::multiply(a, b)) < 1e-5);
  auto audit = f.api->ledger({.question = ledger_question::verify});
  REQUIRE(audit);
  CHECK(audit->audit_ok);
}

TEST_CASE("operands with NaN or infinities are refused before any work, by the client "
          "and by a hub's gateway",
          "[actors][submission]") {
  fixture f{embedded_options{2, 1}};
  auto b = compute::random_tensor({20, 10}, 2);
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto a = compute::random_tensor({40, 20}, 1);
    a.values()[57] = bad;
    auto refused = f.api->submit_matmul(a, b);
    REQUIRE_FALSE(refused);
    CHECK(is(refused.error(), errc::invalid_input));
    CHECK_THAT(describe(refused.error()), Catch::Contains("(element 57)"));
    // Sent straight to a gateway, as a client of another make would.
    auto store = std::make_shared<blob_store>();
    auto gw = f.sys.spawn(gateway, store, f.net.orchestrator, uint16_t{0});
    caf::scoped_actor self{f.sys};
    blob_ref ref{blob_store::id_of(a), a.shape()};
    bool stored = true;
    std::string why;
    self->request(gw, 10s, store_atom::value, wire::encode(ref, a))
        .receive([&](const wire::blob_ref&) { stored = true; },
                 [&](const caf::error& err) {
                   stored = false;
                   why = describe(from_caf(err));
                 });
    CHECK_FALSE(stored);
    CHECK_THAT(why, Catch::Contains("operands must be finite"));
    CHECK(store->size() == 0);
    self->send_exit(gw, caf::exit_reason::user_shutdown);
  }
}
