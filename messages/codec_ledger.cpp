// The codec of one message family: records for the ledger, its receipts, and its typed
// questions and answers.
#include "messages/codec.hpp"
#include "messages/fields.hpp"

namespace nexus::wire {

ledger_records encode_records(const std::vector<std::vector<uint8_t>>& records) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::LedgerRecords>().initRecords(
      static_cast<unsigned>(records.size()));
  for (unsigned i = 0; i < records.size(); ++i)
    list.set(i, capnp::Data::Reader{records[i].data(), records[i].size()});
  return ledger_records{builder};
}

expected<std::vector<std::vector<uint8_t>>> decode(const ledger_records& x) {
  return x.read(
      [](schema::LedgerRecords::Reader in) -> expected<std::vector<std::vector<uint8_t>>> {
        std::vector<std::vector<uint8_t>> out;
        for (auto r : in.getRecords()) {
          if (r.size() > 4096)
            return corrupted("ledger record of " + std::to_string(r.size()) + " bytes");
          out.emplace_back(r.begin(), r.end());
        }
        return out;
      });
}

ledger_receipt encode(const nexus::ledger_receipt& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerReceipt>();
  out.setHeight(x.height);
  out.setBlockHash(capnp::Data::Reader{x.block_hash.data(), x.block_hash.size()});
  out.setRecorded(x.recorded);
  auto refused = out.initRefused(static_cast<unsigned>(x.refused.size()));
  for (unsigned i = 0; i < x.refused.size(); ++i)
    refused.set(i, x.refused[i]);
  auto at = out.initRefusedAt(static_cast<unsigned>(x.refused_at.size()));
  for (unsigned i = 0; i < x.refused_at.size(); ++i)
    at.set(i, x.refused_at[i]);
  return ledger_receipt{builder};
}

expected<nexus::ledger_receipt> decode(const ledger_receipt& x) {
  return x.read([](schema::LedgerReceipt::Reader in) -> expected<nexus::ledger_receipt> {
    nexus::ledger_receipt out;
    out.height = in.getHeight();
    auto hash = in.getBlockHash();
    if (hash.size() != out.block_hash.size())
      return corrupted("ledger receipt with a block hash of " + std::to_string(hash.size())
                       + " bytes");
    std::copy(hash.begin(), hash.end(), out.block_hash.begin());
    out.recorded = in.getRecorded();
    for (auto line : in.getRefused())
      out.refused.push_back(get_text(line));
    for (auto at : in.getRefusedAt())
      out.refused_at.push_back(at);
    if (!out.refused_at.empty() && out.refused_at.size() != out.refused.size())
      return corrupted("ledger receipt with " + std::to_string(out.refused.size())
                       + " refusals at " + std::to_string(out.refused_at.size())
                       + " places");
    return out;
  });
}

ledger_query encode(const nexus::ledger_query& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerQuery>();
  out.setQuestion(static_cast<schema::LedgerQuestion>(x.question));
  out.setAccount(x.account);
  out.setHeight(x.height);
  out.setCount(x.count);
  return ledger_query{builder};
}

expected<nexus::ledger_query> decode(const ledger_query& x) {
  return x.read([](schema::LedgerQuery::Reader in) -> expected<nexus::ledger_query> {
    auto question = get_enum<ledger_question>(
        static_cast<uint16_t>(in.getQuestion()),
        static_cast<uint16_t>(ledger_question::members), "ledger question");
    if (!question)
      return question.error();
    return nexus::ledger_query{.question = *question,
                               .account = get_text(in.getAccount()),
                               .height = in.getHeight(),
                               .count = in.getCount()};
  });
}

ledger_answer encode(const nexus::ledger_answer& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::LedgerAnswer>();
  auto balances = out.initBalances(static_cast<unsigned>(x.balances.size()));
  for (unsigned i = 0; i < x.balances.size(); ++i) {
    balances[i].setAccount(x.balances[i].account);
    balances[i].setMicroMcc(x.balances[i].micro_mcc);
  }
  auto entries = out.initEntries(static_cast<unsigned>(x.entries.size()));
  for (unsigned i = 0; i < x.entries.size(); ++i) {
    entries[i].setHeight(x.entries[i].height);
    entries[i].setTransaction(data_of(x.entries[i].transaction));
  }
  auto blocks = out.initBlocks(static_cast<unsigned>(x.blocks.size()));
  for (unsigned i = 0; i < x.blocks.size(); ++i) {
    const auto& b = x.blocks[i];
    blocks[i].setHeight(b.height);
    blocks[i].setHash(data_of(b.hash));
    blocks[i].setPrev(data_of(b.prev));
    blocks[i].setMerkleRoot(data_of(b.merkle_root));
    blocks[i].setProposer(data_of(b.proposer));
    blocks[i].setTxCount(b.tx_count);
  }
  out.setAuditOk(x.audit_ok);
  out.setAuditBlocks(x.audit_blocks);
  out.setAuditTransactions(x.audit_transactions);
  out.setAuditProblem(x.audit_problem);
  out.setAuditReport(x.audit_report);
  out.setLastTask(x.last_task);
  out.setLastInternalTask(x.last_internal_task);
  auto members = out.initMembers(static_cast<unsigned>(x.members.size()));
  for (unsigned i = 0; i < x.members.size(); ++i) {
    members[i].setName(x.members[i].name);
    members[i].setKey({x.members[i].key.data(), x.members[i].key.size()});
    members[i].setRoles(x.members[i].roles);
  }
  auto streaks = out.initStreaks(static_cast<unsigned>(x.streaks.size()));
  for (unsigned i = 0; i < x.streaks.size(); ++i) {
    streaks[i].setNode(x.streaks[i].first);
    streaks[i].setStreak(x.streaks[i].second);
  }
  return ledger_answer{builder};
}

expected<nexus::ledger_answer> decode(const ledger_answer& x) {
  return x.read([](schema::LedgerAnswer::Reader in) -> expected<nexus::ledger_answer> {
    nexus::ledger_answer out;
    for (auto b : in.getBalances())
      out.balances.push_back({get_text(b.getAccount()), b.getMicroMcc()});
    for (auto e : in.getEntries()) {
      auto tx = e.getTransaction();
      out.entries.push_back({e.getHeight(), {tx.begin(), tx.end()}});
    }
    for (auto b : in.getBlocks()) {
      block_summary summary{.height = b.getHeight(), .tx_count = b.getTxCount()};
      for (auto err : {get_bytes(b.getHash(), summary.hash, "block hash"),
                       get_bytes(b.getPrev(), summary.prev, "previous block hash"),
                       get_bytes(b.getMerkleRoot(), summary.merkle_root, "merkle root"),
                       get_bytes(b.getProposer(), summary.proposer, "proposer key")})
        if (err)
          return err;
      out.blocks.push_back(summary);
    }
    out.audit_ok = in.getAuditOk();
    out.audit_blocks = in.getAuditBlocks();
    out.audit_transactions = in.getAuditTransactions();
    out.audit_problem = get_text(in.getAuditProblem());
    out.audit_report = get_text(in.getAuditReport());
    out.last_task = in.getLastTask();
    out.last_internal_task = in.getLastInternalTask();
    for (auto st : in.getStreaks())
      out.streaks.emplace_back(get_text(st.getNode()), st.getStreak());
    for (auto m : in.getMembers()) {
      member_binding b{get_text(m.getName()), {}, m.getRoles()};
      auto key = m.getKey();
      if (key.size() != b.key.size())
        return corrupted("a member's key of " + std::to_string(key.size()) + " bytes");
      std::copy(key.begin(), key.end(), b.key.begin());
      out.members.push_back(std::move(b));
    }
    return out;
  });
}

} // namespace nexus::wire
