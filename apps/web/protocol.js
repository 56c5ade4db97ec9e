// What the page and the browser worker share: the web endpoint's frames (one byte naming
// the message, then one of messages/task.capnp's, as messages/web_frames.hpp says), and
// the digests and signatures a worker's result carries (actors/core/results.hpp,
// chain/statements.hpp), made with WebCrypto.
import * as capnp from './js/capnp-es/index.mjs';
import * as schema from './js/task.js';

export { schema };

export const frame = Object.freeze({
  challenge: 1, blob: 2, assign: 3, self: 4, balance: 5,
  join: 16, result: 17,
  nodes: 32, tasks: 33, balances: 34, blocks: 35, audit: 36,
});

/// The kind and the message of a frame the endpoint sent; `Type` is its schema class.
export function readFrame(data) {
  const bytes = new Uint8Array(data);
  const body = bytes.slice(1).buffer;
  return { kind: bytes[0], as: (Type) => new capnp.Message(body, false).getRoot(Type) };
}

/// A frame of `kind` carrying a new `Type` message that `fill(root)` fills in.
export function writeFrame(kind, Type, fill) {
  const msg = new capnp.Message();
  fill(msg.initRoot(Type));
  const body = new Uint8Array(msg.toArrayBuffer());
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

/// Sets a Data field `name` of `root` to `bytes`.
export function setData(root, name, bytes) {
  const field = name[0].toUpperCase() + name.slice(1);
  root['_init' + field](bytes.byteLength).copyBuffer(bytes);
}

/// A Data field as a Uint8Array (a copy).
export const bytesOf = (data) => new Uint8Array(data.toArrayBuffer());

export const hex = (bytes) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export const text = (s) => new TextEncoder().encode(s);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p instanceof Uint8Array ? p : new Uint8Array(p.buffer ?? p, p.byteOffset ?? 0,
                                                          p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

// chain::writer's encodings: little-endian numbers, texts as a u32 length and the bytes.
const u32 = (x) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, x, true); return b; };
const u64 = (x) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(x), true); return b; };
const chainText = (s) => { const t = text(s); return concat(u32(t.length), t); };

/// The name a browser node joins under (web::browser_name): its key's first 8 bytes.
export const browserName = (publicKey) => 'browser-' + hex(publicKey.slice(0, 8));

/// What a node signs to join (wire::join_statement).
export const joinStatement = (name, role, nonce) => concat(text(`nexus-join\n${name}\n${role}\n`), nonce);

/// A blob's content address (blob_store::id_of): SHA-256 over its shape and the SHA-256
/// digests of its values' 128 KiB chunks.
export async function blobId(shape, bytes) {
  const chunk = 128 << 10;
  const parts = [u64(shape.length), ...shape.map(u64)];
  // An empty blob is one empty chunk, as sha256_pieces cuts it.
  for (let at = 0; at < Math.max(bytes.byteLength, 1); at += chunk)
    parts.push(await sha256(bytes.subarray(at, Math.min(bytes.byteLength, at + chunk))));
  return sha256(concat(...parts));
}

/// The digest a result's output is signed under (output_digest): SHA-256 of the raw
/// values, for outputs whose rows are below 64 KiB.
export const outputDigest = (bytes) => sha256(bytes);

/// The statement a worker signs for a result (result_statement).
export function resultStatement(r, digest) {
  return sha256(concat(chainText('nexus/result/1'), u64(r.taskId), u32(r.shardId),
                       u32(r.attempt), chainText(r.worker), digest, chainText(r.error)));
}

/// The signature of a batch of one statement (chain::sign_statements): Ed25519 over the
/// tag, a zero byte and the Merkle root, which for one statement is its leaf hash. The
/// proof to the root is empty.
export async function signStatement(privateKey, statement) {
  const root = await sha256(concat(new Uint8Array([0]), statement));
  const message = concat(text('nexus/result-batch/1'), new Uint8Array([0]), root);
  return new Uint8Array(await crypto.subtle.sign('Ed25519', privateKey, message));
}
