# Messages of a task's life: submission, shard assignment and result, verdict, final
# output, and the status reports the shell reads. Every message that crosses a process
# is defined here. Add fields with new ordinals; never renumber or reuse one.
@0xe53678cd3e7ce8c3;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("nexus::schema");

struct Tensor {
  shape @0 :List(UInt64);
  data @1 :Data;              # row-major float32, little-endian; 4 * product(shape) bytes
}

# A tensor held in a node's content-addressed blob store, named by its digest.
struct BlobRef {
  id @0 :Data;                # 32 bytes: SHA-256 over the shape and the SHA-256 of each 128 KiB chunk of the raw float32 values
  shape @1 :List(UInt64);
}

# A blob's contents, for the data plane between the nodes' stores.
struct BlobPayload {
  ref @0 :BlobRef;
  tensor @1 :Tensor;          # its shape equals ref.shape
}

enum Workload {
  matmul @0;
  infer @1;                   # class probabilities of rows of samples
  trainStep @2;               # gradients of micro-batches of one training batch
  train @3;                   # a training run: the orchestrator drives its steps
}

# An MLP's operands (infer, trainStep, train); see compute/workloads/model.hpp.
struct ModelOperands {
  spec @0 :Text;              # mlp:784-256-128-10
  weights @1 :BlobRef;        # 1 x parameters (infer, trainStep)
  x @2 :BlobRef;              # samples, N x features
  y @3 :BlobRef;              # labels, N x 1 (trainStep, train)
  seed @4 :UInt64;            # trainStep: the epoch's sample order
  epoch @5 :UInt32;
  batchBegin @6 :UInt64;      # trainStep: the batch's offset in the epoch's order
  batchRows @7 :UInt32;
  microRows @8 :UInt32;       # trainStep: a shard's rows are micro-batches of this many
  sampleRate @9 :Float64;     # share of rows the validator recomputes; 0: the default
  # A round of local steps (trainStep with localSteps > 0): batchRows is a batch's
  # samples, microRows a lane's; the lanes start from weights and the optimizer state.
  localSteps @10 :UInt32;     # 0: one synchronous step
  state @11 :BlobRef;         # optimizer state, 1 (sgd) or 2 (adam) x parameters
  optimizer @12 :Text;        # adam, sgd
  lr @13 :Float64;
  schedule @14 :Text;         # constant, cosine
  firstStep @15 :UInt64;      # the run's index of the round's first batch
  totalSteps @16 :UInt64;     # batches in the run
}

# A training run's settings (workload train).
struct TrainOptions {
  epochs @0 :UInt32;
  batch @1 :UInt32;
  lr @2 :Float64;
  optimizer @3 :Text;         # adam, sgd
  schedule @4 :Text;          # constant, cosine
  seed @5 :UInt64;
  testX @6 :BlobRef;          # a test set to report accuracy on after each epoch; may be unset
  testY @7 :BlobRef;
  localSteps @8 :UInt32 = 32; # batches per round of local steps; 0: synchronous steps
}

struct EpochStats {
  epoch @0 :UInt32;
  loss @1 :Float64;
  trainAccuracy @2 :Float64;
  testAccuracy @3 :Float64;   # -1: no test set
  seconds @4 :Float64;
}

struct MatmulOperands {
  a @0 :BlobRef;              # m x k
  b @1 :BlobRef;              # k x n
}

struct TaskRequest {
  label @0 :Text;             # what the submitter calls it, for listings
  submitter @1 :Text;
  shards @2 :UInt32;          # 0: the planner chooses from the number of workers
  verifyRounds @3 :UInt32;    # Freivalds rounds; 0: the default
  tolerance @4 :Float64;      # relative; 0: the default
  maxAttempts @5 :UInt32;     # per shard, before the task fails; 0: the default
  workload @6 :Workload;
  matmul @7 :MatmulOperands;  # when workload is matmul
  priority @8 :UInt32;        # share of the workers against other tasks; 0: by remaining work
  timeoutSeconds @9 :UInt32;  # fail the task if not done by then; 0: never
  budget @10 :Int64;          # most micro-MCC the submitter pays for it; 0: no limit
  model @11 :ModelOperands;   # when workload is infer or train
  train @12 :TrainOptions;    # when workload is train
  replicas @13 :UInt32;       # K workers compute each shard and a majority must agree;
                              # 0: validators judge
  submitterKey @14 :Data;     # the submitter's Ed25519 public key (32 bytes) ...
  nonce @15 :UInt64;          # ... a number it never used before ...
  submitterSignature @16 :Data; # ... and its signature of the submission's ledger record
  taskId @17 :UInt64;         # the id the submitter chose and signed; 0: the hub numbers it
  hubKeys @18 :List(Data);    # the hubs it lets record its work (32 bytes each); none: any
}

struct TaskAck {
  taskId @0 :UInt64;
  shardCount @1 :UInt32;
}

# A submitter cancels its task: the task's id, signed with the key that signed its
# submission, with the submission's nonce (the signature of wire::cancel_statement, 64
# bytes).
struct CancelRequest {
  taskId @0 :UInt64;
  signature @1 :Data;
}

struct ShardTask {
  taskId @0 :UInt64;
  shardId @1 :UInt32;
  attempt @2 :UInt32;         # 1 for the first issue, +1 for each re-issue
  shardCount @3 :UInt32;
  rowBegin @4 :UInt64;        # rows [rowBegin, rowEnd) of the output
  rowEnd @5 :UInt64;
  tolerance @6 :Float64;
  verifyRounds @7 :UInt32;
  workload @8 :Workload;
  matmul @9 :MatmulOperands;  # when workload is matmul
  model @10 :ModelOperands;   # when workload is infer or trainStep
}

struct ShardOutput {
  taskId @0 :UInt64;
  shardId @1 :UInt32;
  attempt @2 :UInt32;
  worker @3 :Text;
  output @4 :Tensor;
  computeNanos @5 :UInt64;
  error @6 :Text;             # why the worker could not compute it; output is then empty
  held @7 :Bool;              # output left out: the aggregator holds it and answers
                              # fingerprint queries (matmul results sent to a remote validator)
  signature @8 :Data;         # the worker's Ed25519 signature of a batch of result
  proof @9 :Data;             # statements, and this one's path to the batch's root
                              # (actors/results.hpp); empty from a worker without a key
}

enum CheckMode {
  check @0;                   # one validator judges the result
  audit @1;                   # two judge it, a third decides if they disagree
  trust @2;                   # accepted unchecked: the worker's record earned it
  replicate @3;               # several workers compute it; a majority must agree
}

# What the orchestrator tells the aggregator of an attempt before its result arrives:
# whose it must be, and how it is judged.
struct Expectation {
  worker @0 :Text;
  workerKey @1 :Data;         # 32 bytes; empty for a worker that joined without a key
  mode @2 :CheckMode;
  replicas @3 :UInt32;        # replicate: how many attempts form the round
  round @4 :UInt32;           # replicate: the round's first attempt
}

# The aggregator's decision on an attempt, for the orchestrator.
struct Judgment {
  verdict @0 :Verdict;        # the standing verdict; validator empty when unchecked
  checked @1 :Bool;
  overturned @2 :List(Text);  # validators whose verdict an audit overturned
  validators @3 :List(Text);  # validators whose verdict stands
  disputed @4 :Bool;          # validators disagreed and none could decide: nobody is blamed
}

# A validator's question to the aggregator holding a matmul result: C_R X for its secret X.
struct FingerprintQuery {
  taskId @0 :UInt64;
  shardId @1 :UInt32;
  attempt @2 :UInt32;
  probe @3 :Tensor;           # X, n x rounds
  digest @4 :Bool;            # also the SHA-256 of the result's raw values
}

struct Fingerprint {
  product @0 :Tensor;         # C_R X, rows x rounds
  resultDigest @1 :Data;      # when asked for
}

struct Verdict {
  taskId @0 :UInt64;
  shardId @1 :UInt32;
  attempt @2 :UInt32;
  worker @3 :Text;
  validator @4 :Text;
  valid @5 :Bool;
  reason @6 :Text;            # why a result was rejected; empty when valid
  checkNanos @7 :UInt64;     # CPU time the check took
  resultDigest @8 :Data;      # SHA-256 of the result's raw values
}

# Ledger transactions (chain/block.hpp's canonical bytes), for the ledger to record:
# a validator's signed verdicts (to the orchestrator), or those with the contributions
# they judged (from the orchestrator to the ledger).
struct LedgerRecords {
  records @0 :List(Data);
}

# The ledger's answer to LedgerRecords, once the block holding them is stored.
struct LedgerReceipt {
  height @0 :UInt64;          # the block that holds the recorded ones
  blockHash @1 :Data;
  recorded @2 :UInt32;
  refused @3 :List(Text);     # one line per record refused, with why
  refusedAt @4 :List(UInt32); # where each refused record was in the batch
}

# A question to the ledger. Typed both ways: text is made where a person reads it.
enum LedgerQuestion {
  balance @0;     # every account's balance, or `account`'s
  history @1;     # what was recorded for `account`
  block @2;       # the block at `height`, with its transactions
  tail @3;        # the last `count` blocks (0: 10)
  verify @4;      # an audit of the whole chain
  lastTask @5;    # the last task ids the contract saw (orchestrators go on above them)
  trust @6;       # each node's streak of validated results
  members @7;     # each name's key and roles on the chain, or `account`'s
}

struct LedgerQuery {
  kind @0 :Text;              # retired: the question as free text
  account @1 :Text;
  height @2 :UInt64;
  count @3 :UInt32;
  question @4 :LedgerQuestion;
}

struct AccountBalance {
  account @0 :Text;
  microMcc @1 :Int64;
}

# A block's header as the ledger states it; its transactions follow in `entries`.
struct BlockSummary {
  height @0 :UInt64;
  hash @1 :Data;
  prev @2 :Data;
  merkleRoot @3 :Data;
  proposer @4 :Data;
  txCount @5 :UInt32;
}

# One transaction where it is stored, as its canonical bytes (chain/block.hpp).
struct LedgerEntry {
  height @0 :UInt64;
  transaction @1 :Data;
}

struct NodeStreak {
  node @0 :Text;
  streak @1 :UInt32;
}

struct MemberBinding {
  name @0 :Text;
  key @1 :Data;               # its Ed25519 public key, 32 bytes
  roles @2 :UInt32;           # bits in NodeRole's order, then submitter (32)
}

struct LedgerAnswer {
  lines @0 :List(Text);               # retired: the answer as display text
  balances @1 :List(AccountBalance);  # balance
  entries @2 :List(LedgerEntry);      # history; block: the block's transactions
  blocks @3 :List(BlockSummary);      # block (one), tail
  auditOk @4 :Bool;                   # verify: the audit passed ...
  auditBlocks @5 :UInt64;             # ... over this many blocks
  auditTransactions @6 :UInt64;       # ... and transactions
  auditProblem @7 :Text;              # ... or what it found wrong, and where
  lastTask @8 :UInt64;                # lastTask
  lastInternalTask @9 :UInt64;
  streaks @10 :List(NodeStreak);      # trust
  auditReport @11 :Text;              # verify: the audit's report, as a person reads it
  members @12 :List(MemberBinding);   # members
}

struct TaskOutput {
  taskId @0 :UInt64;
  output @1 :Tensor;
}

enum TaskState {
  planned @0;
  running @1;
  validating @2;
  done @3;
  failed @4;
  cancelled @5;
}

struct TaskReport {
  taskId @0 :UInt64;
  label @1 :Text;
  state @2 :TaskState;
  shardCount @3 :UInt32;
  shardsValidated @4 :UInt32;
  shardsInFlight @5 :UInt32;
  resultsRejected @6 :UInt32;
  shardsReissued @7 :UInt32;
  reason @8 :Text;            # why the task failed, or what it waits for
  elapsedNanos @9 :UInt64;
  flops @10 :Float64;
  outputShape @11 :List(UInt64);
  verifyNanos @12 :UInt64;    # validators' CPU time spent checking this task's results
  workload @13 :Workload;
  epochs @14 :List(EpochStats); # a training run's finished epochs
  lossCurve @15 :List(Float32); # a training run's mean loss over each stretch of steps
  resultsUnchecked @16 :UInt32; # accepted unchecked, on their workers' records
  verdictsOverturned @17 :UInt32; # validators' verdicts an audit overturned
  submissionNonce @18 :UInt64; # the nonce its submitter signed (a cancel signs it too)
}

struct TaskReports {
  tasks @0 :List(TaskReport);
}

enum Role {
  orchestrator @0;
  worker @1;
  validator @2;
  aggregator @3;
  ledger @4;
}

# What a node says of itself when it joins the orchestrator.
struct NodeInfo {
  name @0 :Text;
  role @1 :Role;
  device @2 :Text;            # e.g. "cpu:eigen+tbb"
  threads @3 :UInt32;
  gflops @4 :Float64;         # measured, 0 if unknown
  slots @5 :UInt32;           # shards it takes at once
  publicKey @6 :Data;         # the node's Ed25519 key (32 bytes), or empty
  nonce @7 :Data;             # the orchestrator's challenge this join answers
  signature @8 :Data;         # by publicKey, over the join statement (codec.hpp)
}

# A fresh random value a node signs to prove its key when it joins.
struct Challenge {
  nonce @0 :Data;
}

enum NodeState {
  alive @0;
  suspect @1;                 # missed a shard's deadline and has not answered since
  dead @2;                    # its connection was lost
}

struct NodeReport {
  info @0 :NodeInfo;
  alive @1 :Bool;             # state != dead
  inFlight @2 :UInt32;
  shardsDone @3 :UInt32;      # results computed (worker) or checked (validator)
  shardsRejected @4 :UInt32;  # results of this worker that failed verification
  state @5 :NodeState;
  peakInFlight @6 :UInt32;    # the most shards it held at once
  window @7 :UInt32;          # the most it may hold at once (a worker's, by its speed)
}

struct NodeReports {
  nodes @0 :List(NodeReport);
}

# Consensus among ledger nodes (chain/consensus.hpp): Tendermint's proposals and votes,
# and a height's decision with its commit certificate for a node that fell behind. Each
# carries its signer's Ed25519 signature over the canonical bytes docs/LEDGER.md gives.
struct ConsensusProposal {
  height @0 :UInt64;
  round @1 :UInt32;
  value @2 :Data;              # the proposed block's canonical bytes
  validRound @3 :Int32;        # -1: none
  signer @4 :Data;
  signature @5 :Data;
}

struct ConsensusVote {
  precommit @0 :Bool;          # else a prevote
  height @1 :UInt64;
  round @2 :UInt32;
  value @3 :Data;              # SHA-256 of the block voted for; empty: nil
  signer @4 :Data;
  signature @5 :Data;
}

struct CommitCertificate {
  height @0 :UInt64;
  round @1 :UInt32;
  value @2 :Data;
  signers @3 :List(Data);
  signatures @4 :List(Data);
}

struct ConsensusDecision {
  height @0 :UInt64;
  value @1 :Data;
  certificate @2 :CommitCertificate;
}

struct ConsensusMessage {
  union {
    proposal @0 :ConsensusProposal;
    vote @1 :ConsensusVote;
    decision @2 :ConsensusDecision;
  }
}
