// The codec of the ledger nodes' consensus: proposals, votes and decisions.
#include "messages/codec.hpp"
#include "messages/fields.hpp"

namespace nexus::wire {

namespace {

namespace cs = chain::consensus;

// A proposal's value (a block) may be as large as a block of max_block_records records.
constexpr std::size_t max_value_bytes = std::size_t{1} << 30;

capnp::Data::Reader bytes_of(std::span<const uint8_t> x) {
  return {x.data(), x.size()};
}

void set_certificate(schema::CommitCertificate::Builder out, const cs::certificate& c) {
  out.setHeight(c.height);
  out.setRound(c.round);
  out.setValue(bytes_of(c.value));
  auto n = static_cast<unsigned>(c.precommits.size());
  auto signers = out.initSigners(n);
  auto sigs = out.initSignatures(n);
  for (unsigned i = 0; i < n; ++i) {
    signers.set(i, bytes_of(c.precommits[i].signer));
    sigs.set(i, bytes_of(c.precommits[i].sig));
  }
}

expected<cs::certificate> get_certificate(schema::CommitCertificate::Reader in) {
  cs::certificate c;
  c.height = in.getHeight();
  c.round = in.getRound();
  if (auto err = get_bytes(in.getValue(), c.value, "certified value"))
    return err;
  auto signers = in.getSigners();
  auto sigs = in.getSignatures();
  if (signers.size() != sigs.size() || signers.size() > 4096)
    return corrupted("commit certificate with " + std::to_string(signers.size())
                     + " signers and " + std::to_string(sigs.size()) + " signatures");
  for (unsigned i = 0; i < signers.size(); ++i) {
    cs::vote v{cs::vote_kind::precommit, c.height, c.round, c.value, {}, {}};
    if (auto err = get_bytes(signers[i], v.signer, "precommit signer"))
      return err;
    if (auto err = get_bytes(sigs[i], v.sig, "precommit signature"))
      return err;
    c.precommits.push_back(v);
  }
  return c;
}

expected<std::vector<uint8_t>> get_value(capnp::Data::Reader in) {
  if (in.size() > max_value_bytes)
    return corrupted("proposed value of " + std::to_string(in.size()) + " bytes");
  return std::vector<uint8_t>(in.begin(), in.end());
}

} // namespace

consensus_message encode(const consensus_item& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ConsensusMessage>();
  if (const auto* d = std::get_if<cs::decision>(&x)) {
    auto o = out.initDecision();
    o.setHeight(d->height);
    o.setValue(bytes_of(d->value));
    set_certificate(o.initCertificate(), d->cert);
  } else if (const auto* p = std::get_if<cs::proposal>(&std::get<cs::message>(x))) {
    auto o = out.initProposal();
    o.setHeight(p->height);
    o.setRound(p->round);
    o.setValue(bytes_of(p->value));
    o.setValidRound(p->valid_round);
    o.setSigner(bytes_of(p->signer));
    o.setSignature(bytes_of(p->sig));
  } else {
    const auto& v = std::get<cs::vote>(std::get<cs::message>(x));
    auto o = out.initVote();
    o.setPrecommit(v.kind == cs::vote_kind::precommit);
    o.setHeight(v.height);
    o.setRound(v.round);
    if (v.value)
      o.setValue(bytes_of(*v.value));
    o.setSigner(bytes_of(v.signer));
    o.setSignature(bytes_of(v.sig));
  }
  return consensus_message{builder};
}

expected<consensus_item> decode(const consensus_message& x) {
  return x.read([](schema::ConsensusMessage::Reader in) -> expected<consensus_item> {
    switch (in.which()) {
    case schema::ConsensusMessage::PROPOSAL: {
      auto p = in.getProposal();
      cs::proposal out;
      out.height = p.getHeight();
      out.round = p.getRound();
      auto value = get_value(p.getValue());
      if (!value)
        return value.error();
      out.value = std::move(*value);
      out.valid_round = p.getValidRound();
      if (out.valid_round < -1)
        return corrupted("proposal with valid round " + std::to_string(out.valid_round));
      if (auto err = get_bytes(p.getSigner(), out.signer, "proposal signer"))
        return err;
      if (auto err = get_bytes(p.getSignature(), out.sig, "proposal signature"))
        return err;
      return consensus_item{cs::message{std::move(out)}};
    }
    case schema::ConsensusMessage::VOTE: {
      auto v = in.getVote();
      cs::vote out;
      out.kind = v.getPrecommit() ? cs::vote_kind::precommit : cs::vote_kind::prevote;
      out.height = v.getHeight();
      out.round = v.getRound();
      if (v.hasValue() && v.getValue().size() > 0) {
        chain::digest value{};
        if (auto err = get_bytes(v.getValue(), value, "voted value"))
          return err;
        out.value = value;
      }
      if (auto err = get_bytes(v.getSigner(), out.signer, "vote signer"))
        return err;
      if (auto err = get_bytes(v.getSignature(), out.sig, "vote signature"))
        return err;
      return consensus_item{cs::message{out}};
    }
    case schema::ConsensusMessage::DECISION: {
      auto d = in.getDecision();
      cs::decision out;
      out.height = d.getHeight();
      auto value = get_value(d.getValue());
      if (!value)
        return value.error();
      out.value = std::move(*value);
      auto cert = get_certificate(d.getCertificate());
      if (!cert)
        return cert.error();
      out.cert = std::move(*cert);
      return consensus_item{std::move(out)};
    }
    }
    return corrupted("unknown consensus message");
  });
}

} // namespace nexus::wire
