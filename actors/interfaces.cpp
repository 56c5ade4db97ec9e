#include "actors/interfaces.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

namespace nexus {

void register_types(caf::actor_system_config& cfg) {
  wire::register_message_types(cfg);
  cfg.add_message_type<worker_actor>("nexus::worker_actor");
  cfg.add_message_type<validator_actor>("nexus::validator_actor");
  cfg.add_message_type<aggregator_actor>("nexus::aggregator_actor");
  cfg.add_message_type<result_holder_actor>("nexus::result_holder_actor");
  cfg.add_message_type<validator_list>("nexus::validator_list");
  cfg.add_message_type<orchestrator_actor>("nexus::orchestrator_actor");
  cfg.add_message_type<gateway_actor>("nexus::gateway_actor");
  cfg.add_message_type<ledger_actor>("nexus::ledger_actor");
}

} // namespace nexus
