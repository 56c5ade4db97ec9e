// The codec of one message family: shard assignments and results, and how they are judged:
// verdicts, expectations, judgments, fingerprints.
#include "messages/codec.hpp"
#include "messages/fields.hpp"

namespace nexus::wire {

shard_task encode(const nexus::shard_task& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ShardTask>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  out.setShardCount(x.shard_count);
  out.setRowBegin(x.row_begin);
  out.setRowEnd(x.row_end);
  out.setTolerance(x.tolerance);
  out.setVerifyRounds(x.verify_rounds);
  out.setWorkload(static_cast<schema::Workload>(x.workload));
  if (x.workload == workload_kind::matmul)
    set_operands(out.initMatmul(), x.matmul);
  else
    set_model(out.initModel(), x.model);
  return shard_task{builder};
}

expected<nexus::shard_task> decode(const shard_task& x) {
  return x.read([](schema::ShardTask::Reader in) -> expected<nexus::shard_task> {
    nexus::shard_task out;
    auto work = get_work(in);
    if (!work)
      return work.error();
    out.task_id = in.getTaskId();
    out.shard_id = in.getShardId();
    out.attempt = in.getAttempt();
    out.shard_count = in.getShardCount();
    out.row_begin = in.getRowBegin();
    out.row_end = in.getRowEnd();
    out.tolerance = in.getTolerance();
    out.verify_rounds = in.getVerifyRounds();
    std::tie(out.workload, out.matmul, out.model) = std::move(*work);
    auto rows = shardable_rows(out.workload, out.matmul, out.model);
    if (out.row_begin > out.row_end || out.row_end > rows)
      return corrupted("shard rows [" + std::to_string(out.row_begin) + ", "
                       + std::to_string(out.row_end) + ") outside the "
                       + std::to_string(rows) + " rows of its " + to_string(out.workload)
                       + " task");
    if (out.shard_id >= out.shard_count)
      return corrupted("shard " + std::to_string(out.shard_id) + " of "
                       + std::to_string(out.shard_count));
    if (!(out.tolerance >= 0 && out.tolerance < 1) || out.verify_rounds > 64)
      return corrupted("tolerance or verification rounds out of range");
    return out;
  });
}

shard_output encode(const nexus::shard_output& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::ShardOutput>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  out.setWorker(x.worker);
  set_tensor(out.initOutput(), x.output);
  out.setComputeNanos(x.compute_ns);
  out.setError(x.error);
  out.setHeld(x.held);
  if (!x.signature.proof.empty() || x.signature.sig != chain::signature{}) {
    out.setSignature(capnp::Data::Reader{x.signature.sig.data(), x.signature.sig.size()});
    auto proof = chain::encode_proof(x.signature.proof);
    out.setProof(capnp::Data::Reader{proof.data(), proof.size()});
  }
  return shard_output{builder};
}

expected<nexus::shard_output> decode(const shard_output& x) {
  return x.read([](schema::ShardOutput::Reader in) -> expected<nexus::shard_output> {
    auto output = get_tensor(in.getOutput());
    if (!output)
      return output.error();
    nexus::shard_output out{in.getTaskId(),          in.getShardId(),
                            in.getAttempt(),         get_text(in.getWorker()),
                            std::move(*output),      in.getComputeNanos(),
                            get_text(in.getError()), in.getHeld()};
    auto sig = in.getSignature();
    if (sig.size() != 0 && sig.size() != out.signature.sig.size())
      return corrupted("a result signature of " + std::to_string(sig.size()) + " bytes");
    std::copy(sig.begin(), sig.end(), out.signature.sig.begin());
    auto proof = chain::decode_proof({in.getProof().begin(), in.getProof().size()});
    if (!proof)
      return proof.error();
    out.signature.proof = std::move(*proof);
    return out;
  });
}

expected<std::shared_ptr<const nexus::shard_output>> decode_shared(const shard_output& x) {
  if (x.decoded())
    return std::static_pointer_cast<const nexus::shard_output>(x.decoded());
  auto out = decode(x);
  if (!out)
    return out.error();
  return std::make_shared<const nexus::shard_output>(std::move(*out));
}

shard_output encode_shared(std::shared_ptr<const nexus::shard_output> x) {
  auto out = shard_output::deferred([x] { return encode(*x); });
  out.remember_decoded(std::move(x));
  return out;
}

verdict encode(const nexus::verdict& x) {
  capnp::MallocMessageBuilder builder;
  set_verdict(builder.initRoot<schema::Verdict>(), x);
  return verdict{builder};
}

expectation encode(const nexus::expectation& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Expectation>();
  out.setWorker(x.worker);
  if (x.worker_key)
    out.setWorkerKey(capnp::Data::Reader{x.worker_key->data(), x.worker_key->size()});
  out.setMode(static_cast<schema::CheckMode>(x.mode));
  out.setReplicas(x.replicas);
  out.setRound(x.round);
  return expectation{builder};
}

expected<nexus::expectation> decode(const expectation& x) {
  return x.read([](schema::Expectation::Reader in) -> expected<nexus::expectation> {
    nexus::expectation out;
    out.worker = get_text(in.getWorker());
    auto key = in.getWorkerKey();
    if (key.size() != 0) {
      if (key.size() != sizeof(chain::public_key))
        return corrupted("a worker key of " + std::to_string(key.size()) + " bytes");
      out.worker_key.emplace();
      std::copy(key.begin(), key.end(), out.worker_key->begin());
    }
    auto mode =
        get_enum<check_mode>(static_cast<uint16_t>(in.getMode()),
                             static_cast<uint16_t>(check_mode::replicate), "check mode");
    if (!mode)
      return mode.error();
    out.mode = *mode;
    out.replicas = in.getReplicas();
    out.round = in.getRound();
    return out;
  });
}

judgment encode(const nexus::judgment& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Judgment>();
  set_verdict(out.initVerdict(), x.verdict);
  out.setChecked(x.checked);
  set_texts(out.initOverturned(static_cast<unsigned>(x.overturned.size())), x.overturned);
  set_texts(out.initValidators(static_cast<unsigned>(x.validators.size())), x.validators);
  out.setDisputed(x.disputed);
  return judgment{builder};
}

expected<nexus::judgment> decode(const judgment& x) {
  return x.read([](schema::Judgment::Reader in) -> expected<nexus::judgment> {
    auto v = get_verdict(in.getVerdict());
    if (!v)
      return v.error();
    return nexus::judgment{.verdict = std::move(*v),
                           .checked = in.getChecked(),
                           .overturned = get_texts(in.getOverturned()),
                           .validators = get_texts(in.getValidators()),
                           .disputed = in.getDisputed()};
  });
}

expected<nexus::verdict> decode(const verdict& x) {
  return x.read([](schema::Verdict::Reader in) { return get_verdict(in); });
}

fingerprint_query encode(const nexus::fingerprint_query& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::FingerprintQuery>();
  out.setTaskId(x.task_id);
  out.setShardId(x.shard_id);
  out.setAttempt(x.attempt);
  set_tensor(out.initProbe(), x.probe);
  out.setDigest(x.digest);
  return fingerprint_query{builder};
}

expected<nexus::fingerprint_query> decode(const fingerprint_query& x) {
  return x.read(
      [](schema::FingerprintQuery::Reader in) -> expected<nexus::fingerprint_query> {
        auto probe = get_tensor(in.getProbe());
        if (!probe)
          return probe.error();
        return nexus::fingerprint_query{in.getTaskId(), in.getShardId(), in.getAttempt(),
                                        std::move(*probe), in.getDigest()};
      });
}

fingerprint encode(const nexus::fingerprint& x) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<schema::Fingerprint>();
  set_tensor(out.initProduct(), x.product);
  out.setResultDigest(capnp::Data::Reader{x.result.data(), x.result.size()});
  return fingerprint{builder};
}

expected<nexus::fingerprint> decode(const fingerprint& x) {
  return x.read([](schema::Fingerprint::Reader in) -> expected<nexus::fingerprint> {
    auto product = get_tensor(in.getProduct());
    if (!product)
      return product.error();
    nexus::fingerprint out{std::move(*product), {}};
    if (auto err = get_result_digest(in.getResultDigest(), out.result, "fingerprint"))
      return err;
    return out;
  });
}

} // namespace nexus::wire
