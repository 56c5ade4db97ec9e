// The typed interfaces of NexusChain's actors and the atoms they speak.
//
// Every message that could cross a process is an envelope from messages/; the only other
// elements are atoms, task ids and actor handles. A task's path:
//
//   shell --submit--> orchestrator --assign--> worker --stage--> aggregator
//                       ^    ^                                    |   ^  ^
//                       |    |                              check |   |  | fingerprint
//                       |    +------- verdict --- validator <-----+   |  | (large matmul
//                       |                            +---- verdict ---+--+  results)
//                       +----------- final output ------------ aggregator
//
// The orchestrator routes each shard: its assignment names the validator that checks
// the result and the aggregator that merges it. A result goes once, to the aggregator,
// which holds it until the validator's verdict; the validator gets the result itself
// when it is small or in the same process, and otherwise asks the aggregator for the
// fingerprint its check needs, so large results never cross the network twice. Across
// processes, each node publishes one gateway: it hands out the orchestrator to nodes that
// join, and serves the node's blobs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/errors.hpp"
#include "messages/codec.hpp"

namespace nexus {

using assign_atom = caf::atom_constant<caf::atom("assign")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
using merge_atom = caf::atom_constant<caf::atom("merge")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using tasks_atom = caf::atom_constant<caf::atom("tasks")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using verdict_atom = caf::atom_constant<caf::atom("verdict")>;
using output_atom = caf::atom_constant<caf::atom("output")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using store_atom = caf::atom_constant<caf::atom("store")>;
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using record_atom = caf::atom_constant<caf::atom("record")>;
using ledger_atom = caf::atom_constant<caf::atom("ledger")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using stage_atom = caf::atom_constant<caf::atom("stage")>;
using fingerprint_atom = caf::atom_constant<caf::atom("fingerpr")>;
using expect_atom = caf::atom_constant<caf::atom("expect")>;
using judged_atom = caf::atom_constant<caf::atom("judged")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using bulk_atom = caf::atom_constant<caf::atom("bulk")>;
using gossip_atom = caf::atom_constant<caf::atom("gossip")>;
using consensus_atom = caf::atom_constant<caf::atom("consensus")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using govern_atom = caf::atom_constant<caf::atom("govern")>;

/// Results of at most this many bytes travel to a validator in another process; larger
/// matmul results stay with the aggregator and are judged by fingerprint. Larger results
/// also leave a worker by the bulk channel when there is one (actors/bulk.hpp).
constexpr std::size_t held_result_bytes = 256 * 1024;

/// Holds shard results a validator judges and answers the validator's fingerprint queries.
using result_holder_actor = caf::typed_actor<
    caf::replies_to<fingerprint_atom, wire::fingerprint_query>::with<wire::fingerprint>>;

/// Checks a worker's result against its assignment (and the expected worker's signature)
/// and answers with its verdict, which it also sends to the orchestrator. A result that
/// arrives `held` is judged by the fingerprint the given holder computes.
using validator_actor = caf::typed_actor<
    caf::replies_to<check_atom, wire::shard_task, wire::shard_output, wire::expectation,
                    result_holder_actor>::with<wire::verdict>>;

using validator_list = std::vector<validator_actor>;

/// Learns from the orchestrator what each attempt is and who judges it (expect), takes
/// workers' results (stage), has them judged, tells the orchestrator its judgment, and
/// merges the valid ones into their task's output. `revoke` takes a shard's result back
/// out (its worker was caught cheating and it was never checked); `drop` forgets a task.
/// The worker's handle in `expect` is how the aggregator knows a result comes from the
/// worker it was assigned to (a relay passes results on with their sender); `stage`
/// names the attempt (task, shard, attempt) beside the result's own bytes, so that bytes
/// that are no result at all are still held against the worker that sent them.
using aggregator_actor = result_holder_actor::extend<
    caf::reacts_to<expect_atom, wire::shard_task, wire::expectation, caf::strong_actor_ptr,
                   validator_list>,
    caf::reacts_to<stage_atom, uint64_t, uint32_t, uint32_t, wire::shard_output>,
    // The same, with the result's bytes waiting in this process's bulk service under a
    // ticket (actors/bulk.hpp).
    caf::reacts_to<stage_atom, bulk_atom, uint64_t, uint32_t, uint32_t, uint64_t>,
    caf::reacts_to<revoke_atom, uint64_t, uint32_t>, caf::reacts_to<drop_atom, uint64_t>>;

/// A ledger node: records contributions and signed verdicts in blocks its peers agree on
/// (answering each batch with a receipt once its block is committed), and answers the
/// shell's questions (actors/ledger.hpp).
using ledger_actor = caf::typed_actor<
    caf::replies_to<record_atom, wire::ledger_records>::with<wire::ledger_receipt>,
    caf::replies_to<ledger_atom, wire::ledger_query>::with<wire::ledger_answer>,
    caf::reacts_to<gossip_atom, wire::ledger_records>,       // records a peer took
    caf::reacts_to<consensus_atom, wire::consensus_message>, // from a peer
    caf::reacts_to<sync_atom, uint64_t>,   // a peer asks for decided blocks from a height
    caf::reacts_to<peer_atom, caf::actor>, // another ledger node
    caf::reacts_to<timeout_atom, uint8_t, uint64_t, uint32_t>, // step, height, round
    caf::reacts_to<tick_atom>>;                                // resends

/// Computes an assigned shard and hands the signed result to the aggregator.
using worker_actor =
    caf::typed_actor<caf::reacts_to<assign_atom, wire::shard_task, aggregator_actor>>;

/// Owns every task's state: plans, assigns, re-issues, and answers the shell.
using orchestrator_actor = caf::typed_actor<
    caf::replies_to<submit_atom, wire::task_request>::with<wire::task_ack>,
    caf::replies_to<status_atom, uint64_t>::with<wire::task_report>,
    // The submitter's cancel of its task: the task's report afterwards.
    caf::replies_to<cancel_atom, wire::cancel_request>::with<wire::task_report>,
    caf::replies_to<tasks_atom>::with<wire::task_reports>,
    caf::replies_to<nodes_atom>::with<wire::node_reports>,
    caf::replies_to<result_atom, uint64_t>::with<wire::task_output>,
    // The output offered on the bulk channel: the ticket to fetch it with.
    caf::replies_to<result_atom, uint64_t, bulk_atom>::with<uint64_t>,
    caf::replies_to<challenge_atom>::with<wire::challenge>,
    caf::replies_to<join_atom, wire::node_info, worker_actor>::with<uint32_t>,
    caf::replies_to<join_atom, wire::node_info, validator_actor>::with<uint32_t>,
    caf::replies_to<join_atom, wire::node_info, aggregator_actor>::with<uint32_t>,
    caf::replies_to<join_atom, wire::node_info, ledger_actor>::with<uint32_t>,
    caf::replies_to<ledger_atom, wire::ledger_query>::with<wire::ledger_answer>,
    // A client's governance records, for the ledger (a receipt once committed).
    caf::replies_to<govern_atom, wire::ledger_records>::with<wire::ledger_receipt>,
    caf::reacts_to<verdict_atom, wire::verdict>,       // a validator's, for its record
    caf::reacts_to<judged_atom, wire::judgment>,       // the aggregator's decision
    caf::reacts_to<record_atom, wire::ledger_records>, // a validator's signed verdicts
    caf::reacts_to<flush_atom>, // signs and sends what waits for the ledger
    caf::reacts_to<output_atom, wire::task_output>, caf::reacts_to<tick_atom>>;

/// The one actor a node process publishes. `lookup` gives the orchestrator (an error on
/// a node without one); `bulk` the port of the node's bulk channel (0: none); `fetch`
/// and `store` move blobs between nodes' stores; `stage` relays a worker's result to its
/// aggregator (see worker_config::relay).
using gateway_actor =
    caf::typed_actor<caf::replies_to<lookup_atom>::with<orchestrator_actor>,
                     caf::replies_to<bulk_atom>::with<uint16_t>,
                     caf::reacts_to<stage_atom, uint64_t, uint32_t, uint32_t,
                                    wire::shard_output, aggregator_actor>,
                     caf::reacts_to<stage_atom, bulk_atom, uint64_t, uint32_t, uint32_t,
                                    uint64_t, aggregator_actor>,
                     caf::replies_to<fetch_atom, wire::blob_ref>::with<wire::blob_payload>,
                     caf::replies_to<store_atom, wire::blob_payload>::with<wire::blob_ref>>;

/// How a role that computes nothing (aggregator, ledger) describes itself when it joins.
inline node_info hub_role(std::string name, node_role role) {
  return node_info{
      .name = std::move(name), .role = role, .device = "cpu", .threads = 1, .slots = 0};
}

/// Registers every message type and actor handle with `cfg`; call it on every process
/// before the actor_system is built.
void register_types(caf::actor_system_config& cfg);

} // namespace nexus
