// NexusChain's public API, for programs that embed it: a CAF application that runs
// roles of a network (node.hpp), submits work to one (client.hpp), or runs a whole
// network in its own process (local_network.hpp). Value types (messages/values.hpp),
// errors (compute/errc.hpp) and tensors (compute/tensor.hpp) are plain C++. Nothing
// reachable from here exposes an internal header (scripts/check_layers.py checks it).
//
//   caf::actor_system_config cfg;
//   nexus::api::configure_local(cfg);
//   caf::actor_system sys{cfg};
//   auto net = nexus::api::local_network::start(sys, {.workers = 4}).value();
//   auto client = net->connect();
//   auto task = client->submit_matmul(a, b).value();
//   auto c = client->wait(task.task_id) ? client->result(task.task_id) : ...;
#pragma once

#include "actors/api/client.hpp"
#include "actors/api/identity.hpp"
#include "actors/api/ledger.hpp"
#include "actors/api/local_network.hpp"
#include "actors/api/models.hpp"
#include "actors/api/node.hpp"
#include "actors/api/settings.hpp"
#include "compute/errc.hpp"
#include "compute/tensor.hpp"
#include "messages/values.hpp"
