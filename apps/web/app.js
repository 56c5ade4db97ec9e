// The dashboard: the network's nodes, tasks, latest blocks and the ledger's audit, read
// from the hub's /live socket as the messages the shell reads, redrawn as they come. The
// Contribute button (or /?contribute) turns the tab into a browser worker (worker.js)
// under a key kept in this browser's storage, so a later visit is the same node.
import { browserName, frame, hex, readFrame, schema } from './protocol.js';

const $ = (id) => document.getElementById(id);
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const params = new URLSearchParams(location.search);
const roles = ['orchestrator', 'worker', 'validator', 'aggregator', 'ledger'];
const taskStates = ['planned', 'running', 'validating', 'done', 'failed', 'cancelled'];
const nodeStates = ['alive', 'suspect', 'dead'];
const mcc = (micro) => (Number(micro) / 1e6).toFixed(6);
let balances = new Map();

function cell(row, value, className) {
  const td = row.insertCell();
  td.textContent = value;
  if (className) td.className = className;
  return td;
}

function drawNodes(reports) {
  const body = $('nodes').tBodies[0];
  body.replaceChildren();
  for (const n of reports.nodes) {
    const row = body.insertRow();
    const browser = n.info.name.startsWith('browser-');
    row.className = browser ? 'browser' : 'native';
    row.dataset.name = n.info.name;
    cell(row, n.info.name);
    cell(row, browser ? 'browser' : 'native');
    cell(row, roles[n.info.role] ?? '?');
    cell(row, n.info.device);
    cell(row, n.info.gflops ? n.info.gflops.toFixed(1) : '–', 'num');
    cell(row, nodeStates[n.state] ?? '?');
    cell(row, n.shardsDone, 'num');
    cell(row, n.shardsRejected, 'num');
    cell(row, balances.has(n.info.name) ? mcc(balances.get(n.info.name)) : '–', 'num');
  }
}

function drawTasks(reports) {
  const body = $('tasks').tBodies[0];
  body.replaceChildren();
  const tasks = Array.from(reports.tasks).reverse().slice(0, 20); // the latest first
  for (const t of tasks) {
    const row = body.insertRow();
    row.dataset.task = t.taskId.toString();
    row.dataset.state = taskStates[t.state];
    cell(row, t.taskId.toString());
    cell(row, t.label);
    cell(row, taskStates[t.state] ?? '?');
    const bar = document.createElement('progress');
    bar.max = t.shardCount || 1;
    bar.value = t.shardsValidated;
    row.insertCell().append(bar);
    cell(row, `${t.shardsValidated}/${t.shardCount}`, 'num');
    cell(row, t.resultsRejected, 'num');
    cell(row, `${(Number(t.elapsedNanos) / 1e9).toFixed(1)} s`, 'num');
  }
}

function drawBlocks(answer) {
  const body = $('blocks').tBodies[0];
  body.replaceChildren();
  for (const b of Array.from(answer.blocks).reverse()) {
    const row = body.insertRow();
    cell(row, b.height.toString(), 'num');
    cell(row, hex(new Uint8Array(b.hash.toArrayBuffer())).slice(0, 16) + '…');
    cell(row, b.txCount, 'num');
  }
}

function drawAudit(answer) {
  const badge = $('audit');
  badge.className = 'badge ' + (answer.auditOk ? 'ok' : 'bad');
  badge.textContent = answer.auditOk
    ? `ledger verified: ${answer.auditBlocks} blocks, ${answer.auditTransactions} transactions`
    : `ledger audit failed: ${answer.auditProblem}`;
}

function live() {
  const ws = new WebSocket(`${wsBase}/live`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { $('connection').textContent = 'live'; $('connection').className = 'badge ok'; };
  ws.onclose = () => {
    $('connection').textContent = 'reconnecting…';
    $('connection').className = 'badge bad';
    setTimeout(live, 1000);
  };
  ws.onmessage = (e) => {
    const msg = readFrame(e.data);
    switch (msg.kind) {
      case frame.nodes: return drawNodes(msg.as(schema.NodeReports));
      case frame.tasks: return drawTasks(msg.as(schema.TaskReports));
      case frame.blocks: return drawBlocks(msg.as(schema.LedgerAnswer));
      case frame.audit: return drawAudit(msg.as(schema.LedgerAnswer));
      case frame.balances:
        balances = new Map(Array.from(msg.as(schema.LedgerAnswer).balances,
                                      (b) => [b.account, b.microMcc]));
        return;
    }
  };
}

// The tab's key: made once with WebCrypto and kept in IndexedDB (the private half cannot
// leave the browser), so the next visit is the same node with the same balance.
function keyStore() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('nexuschain', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function nodeKey() {
  const db = await keyStore();
  const get = (key) => new Promise((resolve, reject) => {
    const r = db.transaction('keys').objectStore('keys').get(key);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  let keys = await get('node');
  if (!keys) {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const publicRaw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    keys = { privateKey: pair.privateKey, publicKey: pair.publicKey, publicRaw };
    await new Promise((resolve, reject) => {
      const tx = db.transaction('keys', 'readwrite');
      tx.objectStore('keys').put(keys, 'node');
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }
  return keys;
}

let worker = null;

async function contribute() {
  if (worker) return;
  if (!globalThis.crypto?.subtle) {
    $('my-state').textContent = 'this page needs a secure context (https://, or http://127.0.0.1) to make its key';
    return;
  }
  $('contribute').disabled = true;
  $('stop').disabled = false;
  $('my-state').textContent = 'starting';
  let keys;
  try {
    keys = await nodeKey();
  } catch (e) {
    $('my-state').textContent = `cannot make or keep this browser's key: ${e.message ?? e}`;
    $('contribute').disabled = false;
    $('stop').disabled = true;
    return;
  }
  $('my-name').textContent = browserName(keys.publicRaw);
  worker = new Worker('/worker.js', { type: 'module' });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.log) console.log(`worker: ${m.log}`);
    if (m.failed) $('my-state').textContent = m.failed;
    if (m.joined) {
      $('my-speed').textContent = `${m.gflops.toFixed(1)} GFLOP/s`;
      $('my-state').textContent = 'joining';
    }
    if (m.stats) {
      $('my-shards').textContent = m.stats.shards;
      if (m.stats.seconds > 0)
        $('my-speed').textContent = `${(m.stats.flops / m.stats.seconds / 1e9).toFixed(1)} GFLOP/s`;
    }
    if (m.self) {
      $('my-state').textContent = `working (${nodeStates[m.self.state] ?? '?'})`;
      $('my-accepted').textContent = m.self.done;
    }
    if (m.balance !== undefined) $('my-balance').textContent = `${mcc(m.balance)} MCC`;
    if (m.closed) {
      $('my-state').textContent = `disconnected (${m.closed.code}${m.closed.reason ? ': ' + m.closed.reason : ''})`;
      document.body.dataset.workerClosed = String(m.closed.code);
    }
  };
  worker.postMessage({ start: { url: `${wsBase}/worker`, keys: { privateKey: keys.privateKey },
                                publicKey: keys.publicRaw, fault: globalThis.nexusTestFault } });
}

function stop() {
  if (!worker) return;
  worker.terminate(); // closes its socket: the hub gives its shards to others at once
  worker = null;
  $('contribute').disabled = false;
  $('stop').disabled = true;
  $('my-state').textContent = 'stopped';
}

$('contribute').onclick = contribute;
$('stop').onclick = stop;
live();
if (params.has('contribute')) contribute();
