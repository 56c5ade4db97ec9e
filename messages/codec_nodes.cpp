// The codec of one message family: nodes joining and their reports, blobs moving between
// stores, join challenges.
#include "messages/codec.hpp"
#include "messages/fields.hpp"

namespace nexus::wire {

node_info encode(const nexus::node_info& x) {
  capnp::MallocMessageBuilder builder;
  set_node(builder.initRoot<schema::NodeInfo>(), x);
  return node_info{builder};
}

expected<nexus::node_info> decode(const node_info& x) {
  return x.read(get_node);
}

node_reports encode(const std::vector<nexus::node_report>& x) {
  capnp::MallocMessageBuilder builder;
  auto list =
      builder.initRoot<schema::NodeReports>().initNodes(static_cast<unsigned>(x.size()));
  for (unsigned i = 0; i < x.size(); ++i) {
    set_node(list[i].initInfo(), x[i].info);
    list[i].setAlive(x[i].state != node_state::dead);
    switch (x[i].state) {
    case node_state::alive:
      list[i].setState(schema::NodeState::ALIVE);
      break;
    case node_state::suspect:
      list[i].setState(schema::NodeState::SUSPECT);
      break;
    case node_state::dead:
      list[i].setState(schema::NodeState::DEAD);
      break;
    }
    list[i].setInFlight(x[i].in_flight);
    list[i].setShardsDone(x[i].shards_done);
    list[i].setShardsRejected(x[i].shards_rejected);
    list[i].setPeakInFlight(x[i].peak_in_flight);
    list[i].setWindow(x[i].window);
  }
  return node_reports{builder};
}

expected<std::vector<nexus::node_report>> decode(const node_reports& x) {
  return x.read(
      [](schema::NodeReports::Reader in) -> expected<std::vector<nexus::node_report>> {
        std::vector<nexus::node_report> out;
        for (auto item : in.getNodes()) {
          auto info = get_node(item.getInfo());
          if (!info)
            return info.error();
          node_state state;
          switch (item.getState()) {
          case schema::NodeState::ALIVE:
            state = node_state::alive;
            break;
          case schema::NodeState::SUSPECT:
            state = node_state::suspect;
            break;
          case schema::NodeState::DEAD:
            state = node_state::dead;
            break;
          default:
            return corrupted("unknown node state");
          }
          out.push_back({std::move(*info), state, item.getInFlight(), item.getShardsDone(),
                         item.getShardsRejected(), item.getPeakInFlight(),
                         item.getWindow()});
        }
        return out;
      });
}

blob_ref encode(const nexus::blob_ref& x) {
  capnp::MallocMessageBuilder builder;
  set_blob(builder.initRoot<schema::BlobRef>(), x);
  return blob_ref{builder};
}

expected<nexus::blob_ref> decode(const blob_ref& x) {
  return x.read(get_blob);
}

blob_payload encode(const nexus::blob_ref& ref, const compute::tensor& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::BlobPayload>();
  set_blob(out.initRef(), ref);
  set_tensor(out.initTensor(), x);
  return blob_payload{builder};
}

expected<nexus::blob_payload> decode(const blob_payload& x) {
  return x.read([](schema::BlobPayload::Reader in) -> expected<nexus::blob_payload> {
    auto ref = get_blob(in.getRef());
    if (!ref)
      return ref.error();
    auto tensor = get_tensor(in.getTensor());
    if (!tensor)
      return tensor.error();
    if (tensor->shape() != ref->shape)
      return corrupted("blob_payload " + chain::to_hex(ref->id).substr(0, 12) + " claims "
                       + compute::to_string(ref->shape) + " but carries "
                       + compute::to_string(tensor->shape()));
    return nexus::blob_payload{std::move(*ref), std::move(*tensor)};
  });
}

challenge encode_challenge(const std::vector<uint8_t>& nonce) {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::Challenge>().setNonce(
      capnp::Data::Reader{nonce.data(), nonce.size()});
  return challenge{builder};
}

expected<std::vector<uint8_t>> decode(const challenge& x) {
  return x.read([](schema::Challenge::Reader in) -> expected<std::vector<uint8_t>> {
    auto nonce = in.getNonce();
    if (nonce.size() < 16 || nonce.size() > 64)
      return corrupted("challenge of " + std::to_string(nonce.size()) + " bytes");
    return std::vector<uint8_t>(nonce.begin(), nonce.end());
  });
}

std::vector<uint8_t> join_statement(const nexus::node_info& x) {
  std::string text = "nexus-join\n" + x.name + "\n" + to_string(x.role) + "\n";
  std::vector<uint8_t> out(text.begin(), text.end());
  out.insert(out.end(), x.nonce.begin(), x.nonce.end());
  return out;
}

} // namespace nexus::wire
