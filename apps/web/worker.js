// A browser worker: this Web Worker joins the network through the hub's /worker socket
// under the tab's Ed25519 key, computes the shards it is given with the project's GEMM
// kernel compiled to WebAssembly (compute/kernels/sgemm_wasm.cpp), signs each result as a
// native worker does, and sends it back. The page (app.js) starts it with
// {start: {url, keys, publicKey, fault}} and stops it by terminating it, which closes the
// socket: the hub hands the shards it held to other workers at once. `fault` is for
// tests only (corrupt: wrong blocks, honestly signed; stall: shards held unanswered): the
// page passes what a test harness set as globalThis.nexusTestFault, which no link or
// other site can set.
import {
  blobId, browserName, bytesOf, frame, hex, joinStatement, outputDigest, readFrame,
  resultStatement, schema, setData, signStatement, writeFrame,
} from './protocol.js';

let kernels = null; // the WebAssembly module's exports
let socket = null;
let keys = null;
let name = '';
let fault = '';
const blobs = new Map(); // id (hex) -> {shape, values: Float32Array}, oldest first
// What it keeps of the operands it is sent: past 512 MiB the oldest go, but never the
// newest three, which a shard on its way may name. The hub's worker actor applies the
// same rule to what it sent (actors/web/browser_worker.cpp), so it sends again what
// this forgot.
const blobBudget = 512 * 2 ** 20, blobsKept = 3;
let blobBytes = 0;
const queue = [];        // assignments waiting for the one computing
let busy = false;
const stats = { shards: 0, flops: 0, seconds: 0, gflops: 0 };

const say = (line) => postMessage({ log: line });

async function loadKernels() {
  const imports = {
    wasi_snapshot_preview1: { proc_exit: (code) => { throw new Error(`kernel exit ${code}`); } },
    env: { emscripten_notify_memory_growth: () => {} },
  };
  const { instance } = await WebAssembly.instantiateStreaming(fetch('/nexus_kernels.wasm'), imports);
  instance.exports._initialize();
  return instance.exports;
}

const f32 = () => new Float32Array(kernels.memory.buffer);

/// C = A op(B) on this thread, A m x k as a Float32Array, and B k x n (or n x k when
/// `transB`); returns C's values.
export function gemm(a, b, m, n, k, transB = false) {
  const pa = kernels.nexus_alloc(m * k), pb = kernels.nexus_alloc(k * n),
        pc = kernels.nexus_alloc(m * n);
  if (!pa || !pb || !pc) throw new Error('the kernel is out of memory');
  f32().set(a, pa / 4);
  f32().set(b, pb / 4);
  kernels.nexus_sgemm_wasm(0, transB ? 1 : 0, m, n, k, 1, pa, k, pb, transB ? k : n, 0, pc, n);
  const c = f32().slice(pc / 4, pc / 4 + m * n);
  kernels.nexus_free(pa); kernels.nexus_free(pb); kernels.nexus_free(pc);
  return c;
}

// What this tab computes: its speed on a 256^3 product, as a native worker calibrates.
function calibrate() {
  const n = 256, a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25);
  gemm(a, b, n, n, n);
  const t0 = performance.now();
  const reps = 4;
  for (let i = 0; i < reps; ++i) gemm(a, b, n, n, n);
  return (2 * n * n * n * reps) / ((performance.now() - t0) / 1e3) / 1e9;
}

function send(bytes) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(bytes);
}

async function onChallenge(msg) {
  const nonce = bytesOf(msg.as(schema.Challenge).nonce);
  const statement = joinStatement(name, 'worker', nonce);
  const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', keys.privateKey, statement));
  send(writeFrame(frame.join, schema.NodeInfo, (info) => {
    info.name = name;
    info.role = schema.Role.WORKER;
    info.device = 'browser:wasm-simd128';
    info.threads = 1;
    info.gflops = stats.gflops;
    info.slots = 2;
    setData(info, 'publicKey', keys.publicRaw);
    setData(info, 'nonce', nonce);
    setData(info, 'signature', signature);
  }));
}

async function onBlob(msg) {
  const payload = msg.as(schema.BlobPayload);
  const shape = Array.from(payload.ref.shape, Number);
  const id = bytesOf(payload.ref.id);
  const bytes = bytesOf(payload.tensor.data);
  // The hub is trusted for nothing either: an operand must be what its address says.
  const actual = await blobId(shape, bytes);
  if (hex(actual) !== hex(id)) {
    say(`an operand does not match its address ${hex(id).slice(0, 16)}...; ignored`);
    return;
  }
  const key = hex(id);
  if (blobs.has(key)) { // sent again: it becomes the newest
    blobBytes -= blobs.get(key).values.byteLength;
    blobs.delete(key);
  }
  blobs.set(key, { shape, values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) });
  blobBytes += bytes.byteLength;
  while (blobBytes > blobBudget && blobs.size > blobsKept) {
    const [oldest, blob] = blobs.entries().next().value;
    blobBytes -= blob.values.byteLength;
    blobs.delete(oldest);
  }
}

function matmul(task) {
  const a = blobs.get(hex(bytesOf(task.matmul.a.id)));
  const b = blobs.get(hex(bytesOf(task.matmul.b.id)));
  if (!a || !b) throw new Error('an operand of the shard never arrived');
  const begin = Number(task.rowBegin), end = Number(task.rowEnd);
  const [, k] = a.shape, [, n] = b.shape;
  if (end <= begin || end > a.shape[0] || b.shape[0] !== k) throw new Error('rows or shapes out of range');
  if (end - begin >= 2 && n * 4 >= 64 << 10)
    throw new Error('a browser worker commits to rows below 64 KiB only');
  const c = gemm(a.values.subarray(begin * k, end * k), b.values, end - begin, n, k);
  stats.flops += 2 * (end - begin) * n * k;
  return { shape: [end - begin, n], values: c };
}

// Class probabilities of samples [rowBegin, rowEnd) of X under an MLP's weights, as
// compute/nn/model.cpp's mlp::probabilities: each layer's weights (out x in) then its
// bias in the one row of parameters, ReLU between layers, softmax on top.
function infer(task) {
  const spec = /^mlp:(\d+(?:-\d+)+)$/.exec(task.model.spec);
  if (!spec) throw new Error(`a browser worker runs plain MLPs (mlp:784-256-10), not ${task.model.spec}`);
  const sizes = spec[1].split('-').map(Number);
  const weights = blobs.get(hex(bytesOf(task.model.weights.id)));
  const x = blobs.get(hex(bytesOf(task.model.x.id)));
  if (!weights || !x) throw new Error('an operand of the shard never arrived');
  const begin = Number(task.rowBegin), end = Number(task.rowEnd), rows = end - begin;
  let params = 0;
  for (let i = 0; i + 1 < sizes.length; ++i) params += sizes[i] * sizes[i + 1] + sizes[i + 1];
  if (x.shape[1] !== sizes[0] || weights.values.length !== params || end <= begin || end > x.shape[0])
    throw new Error('the samples or weights do not fit the model');
  let input = x.values.subarray(begin * sizes[0], end * sizes[0]);
  let at = 0;
  for (let i = 0; i + 1 < sizes.length; ++i) {
    const inputs = sizes[i], outputs = sizes[i + 1];
    const w = weights.values.subarray(at, at + inputs * outputs);
    const bias = weights.values.subarray(at + inputs * outputs, at + inputs * outputs + outputs);
    at += inputs * outputs + outputs;
    const z = gemm(input, w, rows, outputs, inputs, true);
    const hidden = i + 2 < sizes.length;
    for (let r = 0; r < rows; ++r)
      for (let c = 0; c < outputs; ++c) {
        const v = z[r * outputs + c] + bias[c];
        z[r * outputs + c] = hidden && v < 0 ? 0 : v;
      }
    stats.flops += 2 * rows * inputs * outputs;
    input = z;
  }
  const classes = sizes[sizes.length - 1];
  for (let r = 0; r < rows; ++r) {
    const row = input.subarray(r * classes, (r + 1) * classes);
    const top = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < classes; ++c) { row[c] = Math.exp(row[c] - top); sum += row[c]; }
    for (let c = 0; c < classes; ++c) row[c] /= sum;
  }
  return { shape: [rows, classes], values: input };
}

async function compute(task) {
  const r = { taskId: task.taskId, shardId: task.shardId, attempt: task.attempt, worker: name, error: '' };
  const t0 = performance.now();
  let out = null;
  try {
    if (task.workload === schema.Workload.MATMUL) out = matmul(task);
    else if (task.workload === schema.Workload.INFER) out = infer(task);
    else throw new Error('a browser worker computes matmul and inference shards only');
    if (fault === 'corrupt') out.values[0] += 1; // tests: a wrong block, honestly signed
  } catch (e) {
    r.error = `browser worker: ${e.message}`;
    out = null;
  }
  const seconds = (performance.now() - t0) / 1e3;
  const bytes = out ? new Uint8Array(out.values.buffer, out.values.byteOffset, out.values.byteLength) : new Uint8Array(0);
  const digest = await outputDigest(bytes);
  const signature = await signStatement(keys.privateKey, await resultStatement(r, digest));
  send(writeFrame(frame.result, schema.ShardOutput, (o) => {
    o.taskId = r.taskId;
    o.shardId = r.shardId;
    o.attempt = r.attempt;
    o.worker = r.worker;
    o.error = r.error;
    o.computeNanos = BigInt(Math.round(seconds * 1e9));
    if (out) {
      const t = o._initOutput();
      const shape = t._initShape(2);
      shape.set(0, BigInt(out.shape[0]));
      shape.set(1, BigInt(out.shape[1]));
      setData(t, 'data', bytes);
    }
    setData(o, 'signature', signature);
  }));
  if (!r.error) {
    stats.shards += 1;
    stats.seconds += seconds;
  }
  postMessage({ stats: { ...stats, last: `task ${r.taskId} shard ${r.shardId}${r.error ? ': ' + r.error : ''}` } });
}

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) await compute(queue.shift());
  busy = false;
}

async function onFrame(data) {
  const msg = readFrame(data);
  switch (msg.kind) {
    case frame.challenge: return onChallenge(msg);
    case frame.blob: return onBlob(msg);
    case frame.assign:
      if (fault === 'stall') return; // tests: a tab that holds its shards and never answers
      queue.push(msg.as(schema.ShardTask));
      return drain();
    case frame.self: {
      const nodes = msg.as(schema.NodeReports).nodes;
      if (nodes.length) postMessage({ self: { state: nodes.get(0).state, done: nodes.get(0).shardsDone, rejected: nodes.get(0).shardsRejected } });
      return;
    }
    case frame.balance: {
      const balances = msg.as(schema.LedgerAnswer).balances;
      postMessage({ balance: balances.length ? Number(balances.get(0).microMcc) : 0 });
      return;
    }
    default: say(`a frame of kind ${msg.kind}, ignored`);
  }
}

// Frames are handled one at a time, in order: an operand is stored before the shard
// that names it is read.
let chain = Promise.resolve();

onmessage = async (event) => {
  const start = event.data.start;
  if (!start) return;
  keys = start.keys;
  keys.publicRaw = start.publicKey;
  fault = start.fault || '';
  name = browserName(start.publicKey);
  try {
    kernels = await loadKernels();
  } catch (e) {
    postMessage({ failed: `this browser cannot run the WebAssembly kernels: ${e.message ?? e}` });
    return;
  }
  stats.gflops = calibrate();
  postMessage({ joined: name, gflops: stats.gflops });
  socket = new WebSocket(start.url);
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (e) => { chain = chain.then(() => onFrame(e.data)).catch((err) => say(`${err}`)); };
  socket.onclose = (e) => postMessage({ closed: { code: e.code, reason: e.reason } });
  socket.onerror = () => say('the socket failed');
};
