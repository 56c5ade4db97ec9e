#include "actors/gateway.hpp"

#include <caf/all.hpp>

namespace nexus {

gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     std::shared_ptr<blob_store> store,
                                     orchestrator_actor orchestrator, uint16_t bulk_port) {
  self->state.store = std::move(store);
  self->state.orchestrator = std::move(orchestrator);
  self->state.bulk_port = bulk_port;
  return {
      [self](lookup_atom) -> caf::result<orchestrator_actor> {
        if (!self->state.orchestrator)
          return to_caf(make_error(errc::not_found, "this node runs no orchestrator"));
        return self->state.orchestrator;
      },
      [self](stage_atom, uint64_t task, uint32_t shard, uint32_t attempt,
             const wire::shard_output& result, const aggregator_actor& aggregator) {
        // Delegated, so the aggregator sees the worker as the sender.
        self->delegate(aggregator, stage_atom::value, task, shard, attempt, result);
      },
      [self](bulk_atom) { return self->state.bulk_port; },
      [self](stage_atom, bulk_atom, uint64_t task, uint32_t shard, uint32_t attempt,
             uint64_t ticket, const aggregator_actor& aggregator) {
        self->delegate(aggregator, stage_atom::value, bulk_atom::value, task, shard,
                       attempt, ticket);
      },
      [self](fetch_atom, const wire::blob_ref& msg) -> caf::result<wire::blob_payload> {
        auto ref = wire::decode(msg);
        if (!ref)
          return to_caf(ref.error());
        auto found = self->state.store->get(*ref);
        if (!found)
          return to_caf(found.error());
        return wire::encode(*ref, **found);
      },
      [self](store_atom, const wire::blob_payload& msg) -> caf::result<wire::blob_ref> {
        auto payload = wire::decode(msg);
        if (!payload)
          return to_caf(payload.error());
        if (blob_store::id_of(payload->tensor) != payload->ref.id)
          return to_caf(make_error(errc::corrupted,
                                   "blob " + chain::to_hex(payload->ref.id).substr(0, 12)
                                       + " does not match its digest"));
        if (auto err = compute::check_finite(
                payload->tensor, "blob " + chain::to_hex(payload->ref.id).substr(0, 12)))
          return to_caf(err);
        return wire::encode(self->state.store->put_upload(std::move(payload->tensor)));
      },
  };
}

} // namespace nexus
