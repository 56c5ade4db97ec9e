// Browser nodes, end to end: a real nexus-shell serving its web endpoint, and tabs of
// Debian's headless chromium lending themselves as workers (apps/web/).
//
//   node test/web/browser_test.mjs SHELL ARTIFACTS_DIR
//
// 1. A matmul on two browser workers and one native worker is exact against a direct
//    product, both browsers computed shards, and the ledger pays both. Inference shards
//    computed by browsers give the accuracy the (native) training run measured.
// 2. The dashboard lists the nodes (browser nodes marked so) and a running task's
//    progress, read from the page's DOM; a screenshot is kept in ARTIFACTS_DIR. A tab
//    that holds its shards without answering keeps the task running meanwhile.
// 3. That tab is closed mid-task: its shards are finished by the others, the task is
//    exact.
// 4. A browser worker that returns corrupted blocks is caught: its results are rejected
//    and the task is still exact.
// 5. Bad input from a page (a text frame, bytes that do not decode, a frame of another
//    kind, a result signed by another key) closes its socket with a clear code and a
//    line in the hub's log; the hub goes on, and the task the forger held is exact.
import fs from 'node:fs';
import path from 'node:path';
import {
  Shell, check, launchBrowser, openTab, parseTable, productError, randomMatrix, readNpy,
  tempDir, until, writeNpy,
} from './harness.mjs';

const [shellBinary, artifacts = tempDir()] = process.argv.slice(2);
const dir = tempDir();
fs.mkdirSync(artifacts, { recursive: true });

// Writes A (m x k) and B (k x n) from `seed`; returns what checking C needs.
function operands(name, m, k, n, seed) {
  const a = randomMatrix(m, k, seed), b = randomMatrix(k, n, seed + 1);
  const files = { a: path.join(dir, `${name}-a.npy`), b: path.join(dir, `${name}-b.npy`),
                  c: path.join(dir, `${name}-c.npy`) };
  writeNpy(files.a, m, k, a);
  writeNpy(files.b, k, n, b);
  return { ...files, check: () => {
    const c = readNpy(files.c);
    check(c.rows === m && c.cols === n, `${name}: C is ${m}x${n}`);
    const err = productError(a, b, c.values, m, k, n);
    check(err < 1e-5, `${name}: C equals the direct product (largest relative error ${err.toExponential(2)})`);
  } };
}

const browserRows = async (shell) =>
  parseTable(await shell.run('nodes')).filter((n) => n.NODE.startsWith('browser-'));

async function balances(shell) {
  const text = await shell.run('ledger balance');
  return Object.fromEntries([...text.matchAll(/^\s*(\S+)\s+(-?[\d.]+) MCC/gm)].map((m) => [m[1], Number(m[2])]));
}

const shell = await Shell.start(shellBinary, ['--data', path.join(dir, 'data'), '--workers', '1',
                                              '--validators', '1']);
const browser = await launchBrowser();
let failed = false;
try {
  // 1. Two browser workers and one native worker.
  const tabs = [await openTab(browser, `${shell.url}?contribute`, 'tab-1'),
                await openTab(browser, `${shell.url}?contribute`, 'tab-2')];
  const joined = await until('both tabs to join', async () => {
    const rows = await browserRows(shell);
    return rows.length === 2 && rows;
  });
  check(joined.every((r) => r.ROLE === 'worker' && r.DEVICE === 'browser:wasm-simd128'),
        'both browser nodes joined as workers on WebAssembly');
  const names = joined.map((r) => r.NODE);
  const first = operands('two-browsers', 96, 512, 256, 7);
  const out = await shell.run(`submit matmul --a ${first.a} --b ${first.b} --out ${first.c} --shards 12`);
  check(/done/.test(out), `the task finished: ${out.trim().split('\n').pop()}`);
  first.check();
  const done = await browserRows(shell);
  check(done.every((r) => Number(r.DONE) > 0), `both browsers computed shards (${done.map((r) => r.DONE).join(', ')})`);
  const paid = await until('the ledger to pay both browsers', async () => {
    const b = await balances(shell);
    return names.every((n) => b[n] > 0) && b;
  });
  check(true, `the ledger pays ${names.map((n) => `${n}: ${paid[n]} MCC`).join(', ')}`);

  // 1b. Inference: the browsers compute shards of it; its accuracy on the test set is the
  // one the training run measured (natives only: browsers take no training steps).
  const model = path.join(dir, 'model.safetensors');
  const trained = await shell.run(`submit train --model mlp:784-64-10 --data fashion-mnist --epochs 1 --out ${model}`);
  const testAccuracy = Number(/test (0\.\d+)/.exec(trained)?.[1]);
  check(testAccuracy > 0.5, `a model trained on the native worker (test accuracy ${testAccuracy})`);
  const before = Object.fromEntries((await browserRows(shell)).map((r) => [r.NODE, Number(r.DONE)]));
  const inferred = await shell.run(`submit infer --model ${model} --data fashion-mnist:test --out ${path.join(dir, 'p.npy')} --shards 24`);
  const accuracy = Number(/accuracy (0\.\d+)/.exec(inferred)?.[1]);
  check(Math.abs(accuracy - testAccuracy) <= 0.0005, `inference with browser workers gives accuracy ${accuracy}, as the training run measured`);
  const after1b = await browserRows(shell);
  check(after1b.some((r) => Number(r.DONE) > before[r.NODE]), `browsers computed inference shards (${after1b.map((r) => `${r.NODE}: ${before[r.NODE]} -> ${r.DONE}`).join(', ')})`);
  check(after1b.every((r) => r.REJECTED === '0'), 'no browser result was rejected');

  // 2 and 3. A tab that takes shards and never answers holds a task running: the
  // dashboard shows its progress; then the tab is closed, and the others finish it.
  const staller = await openTab(browser, `${shell.url}?contribute`, 'staller', 'stall');
  const stallerName = await until('the stalling tab to join', async () =>
    (await browserRows(shell)).find((r) => !names.includes(r.NODE))?.NODE);
  const second = operands('tab-closed', 240, 300, 200, 11);
  const submitted = await shell.run(`submit matmul --a ${second.a} --b ${second.b} --out ${second.c} --shards 40 --detach`);
  const running = /task (\d+):/.exec(submitted)?.[1];
  const page = tabs[0].page;
  const progress = await until('the dashboard to show the task running', () => page.evaluate((id) => {
    const row = document.querySelector(`#tasks tbody tr[data-task="${id}"]`);
    const bar = row?.querySelector('progress');
    return bar && row.dataset.state === 'running' && bar.value > 0
      ? { state: row.dataset.state, value: bar.value, max: bar.max, shards: row.cells[4].textContent } : null;
  }, running));
  check(progress.value < progress.max && progress.shards === `${progress.value}/${progress.max}`,
        `the dashboard shows the running task's progress (${JSON.stringify(progress)})`);
  const listed = await page.evaluate(() => Array.from(document.querySelectorAll('#nodes tbody tr.browser'),
                                                       (r) => r.dataset.name));
  check([...names, stallerName].every((n) => listed.includes(n)), 'the dashboard lists the three browser nodes as browsers');
  await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
  const held = (await browserRows(shell)).find((r) => r.NODE === stallerName);
  check(held['IN-FLIGHT'] !== '0/2' && !held['IN-FLIGHT'].startsWith('0/'), `the stalling tab holds shards (${held['IN-FLIGHT']})`);
  await staller.context.close();
  const waited = await shell.run('wait last', 60000);
  check(/done/.test(waited), 'the task finished once the tab holding its shards closed');
  await shell.run(`result last --out ${second.c}`);
  second.check();
  const after = await browserRows(shell);
  check(!after.some((r) => r.NODE === stallerName && r.STATE === 'alive'), 'the closed tab left the network');

  // 4. A browser worker that corrupts its blocks.
  const liar = await openTab(browser, `${shell.url}?contribute`, 'liar', 'corrupt');
  const liarName = await until('the corrupting tab to join', async () =>
    (await browserRows(shell)).find((r) => ![...names, stallerName].includes(r.NODE))?.NODE);
  const fourth = operands('corrupt', 120, 150, 100, 17);
  await shell.run(`submit matmul --a ${fourth.a} --b ${fourth.b} --out ${fourth.c} --shards 24`);
  fourth.check();
  const caught = (await browserRows(shell)).find((r) => r.NODE === liarName);
  check(caught && Number(caught.REJECTED) > 0, `the corrupting browser was caught (${caught?.REJECTED} results rejected)`);
  await liar.context.close();

  // 5. Bad input on the web side: a clear close code and a line in the hub's log, never
  // a crash, and never a lost task.
  const rogue = await openTab(browser, shell.url, 'rogue');
  const closeOf = (send) => rogue.page.evaluate(async (body) => {
    const ws = new WebSocket(`ws://${location.host}/worker`);
    ws.binaryType = 'arraybuffer';
    const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(`${e.code} ${e.reason}`); });
    await new Promise((resolve) => { ws.onmessage = resolve; }); // the challenge
    ws.send(body === 'text' ? 'hello' : new Uint8Array(body));
    return Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
  }, send);
  const text = await closeOf('text');
  check(text.startsWith('1003'), `a text frame closes with 1003 (${text})`);
  const garbage = await closeOf([17, 1, 2, 3, 4, 5, 6, 7, 8]);
  check(garbage.startsWith('1007'), `a result that does not decode closes with 1007 (${garbage})`);
  const unknown = await closeOf([99, 0, 0, 0]);
  check(unknown.startsWith('1008'), `a frame of no browser's kind closes with 1008 (${unknown})`);
  // A result signed by another key than the one the tab joined with.
  const forged = operands('forged', 64, 128, 64, 19);
  await rogue.page.evaluate(async () => {
    const p = await import('/protocol.js');
    const mine = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const other = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', mine.publicKey));
    const name = p.browserName(publicKey);
    const ws = new WebSocket(`ws://${location.host}/worker`);
    ws.binaryType = 'arraybuffer';
    ws.onclose = (e) => { window.forgerClosed = `${e.code} ${e.reason}`; };
    ws.onmessage = async (e) => {
      const msg = p.readFrame(e.data);
      if (msg.kind === p.frame.self) window.forgerJoined = true;
      if (msg.kind === p.frame.challenge) {
        const nonce = p.bytesOf(msg.as(p.schema.Challenge).nonce);
        const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', mine.privateKey, p.joinStatement(name, 'worker', nonce)));
        ws.send(p.writeFrame(p.frame.join, p.schema.NodeInfo, (i) => {
          i.name = name; i.role = p.schema.Role.WORKER; i.device = 'browser:rogue'; i.threads = 1; i.slots = 2;
          p.setData(i, 'publicKey', publicKey); p.setData(i, 'nonce', nonce); p.setData(i, 'signature', signature);
        }));
      } else if (msg.kind === p.frame.assign) {
        const t = msg.as(p.schema.ShardTask);
        const r = { taskId: t.taskId, shardId: t.shardId, attempt: t.attempt, worker: name, error: 'nothing' };
        const digest = await p.outputDigest(new Uint8Array(0));
        const signature = await p.signStatement(other.privateKey, await p.resultStatement(r, digest));
        ws.send(p.writeFrame(p.frame.result, p.schema.ShardOutput, (o) => {
          o.taskId = r.taskId; o.shardId = r.shardId; o.attempt = r.attempt; o.worker = name; o.error = r.error;
          p.setData(o, 'signature', signature);
        }));
      }
    };
  });
  await until('the forger to join', () => rogue.page.evaluate(() => window.forgerJoined));
  await shell.run(`submit matmul --a ${forged.a} --b ${forged.b} --out ${forged.c} --shards 16 --detach`);
  const verdict = await until('the forger to be closed', () => rogue.page.evaluate(() => window.forgerClosed));
  check(verdict.startsWith('4003'), `a result signed by another key closes with 4003 (${verdict})`);
  check(/not signed by the key it joined with.*closing with 4003/.test(shell.out), "the hub's log says why");
  check(/done/.test(await shell.run('wait last', 60000)), 'the task the forger held shards of finished');
  await shell.run(`result last --out ${forged.c}`);
  forged.check();
  // A frame above the limit, and a page that joins again and again from one address.
  const big = await rogue.page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/worker`);
    ws.binaryType = 'arraybuffer';
    const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(`${e.code} ${e.reason}`); });
    await new Promise((resolve) => { ws.onmessage = resolve; });
    const frame = new Uint8Array((64 << 20) + 8192);
    frame[0] = 17;
    ws.send(frame);
    return closed;
  });
  // The hub closes with 1009 at once; a browser still sending then sees the connection
  // drop (1006), so the hub's log is what tells.
  check(big.startsWith('1009') || big.startsWith('1006'), `a frame above the limit closes the socket (${big})`);
  check(/sent a message above \d+ bytes \(closing with 1009\)/.test(shell.out), "the hub's log says it was too big");
  const flood = await rogue.page.evaluate(async () => {
    for (let i = 0; i < 40; ++i) {
      const ws = new WebSocket(`ws://${location.host}/worker`);
      const code = await new Promise((resolve) => {
        ws.onmessage = () => { ws.close(); resolve(0); };
        ws.onclose = (e) => resolve(e.code === 1008 ? `${e.code} ${e.reason}` : 0);
      });
      if (code) return `${code} after ${i} joins`;
    }
    return 'never refused';
  });
  check(flood.startsWith('1008 too many joins'), `a page joining again and again is refused (${flood})`);
  check(/done/.test(await shell.run('submit matmul --m 64 --k 64 --n 64')), 'the hub goes on');
} catch (e) {
  failed = true;
  console.log(`FAILED: ${e.stack || e}`);
  console.log('--- shell output ---');
  console.log(shell.out.slice(-6000));
} finally {
  await browser.close();
}
// The shell ran commands that fail on purpose (the marker after each), so its status is
// 1; anything else (a crash, a sanitizer's report) fails the test.
const status = await shell.stop();
if (status !== 1) {
  failed = true;
  console.log(`FAILED: the shell ended with ${status}`);
  console.log(shell.out.slice(-4000));
}
process.exit(failed ? 1 : 0);
