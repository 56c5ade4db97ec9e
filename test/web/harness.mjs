// What the browser tests share: an embedded network in a real nexus-shell process that
// serves its web endpoint, Debian's chromium driven by playwright-core (no browser is
// downloaded), .npy files, and bounded waits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const { chromium } = require(path.join(here, '../../apps/web/node_modules/playwright-core'));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// Calls `probe` every 200 ms until it returns a truthy value, for at most `ms`.
export async function until(what, probe, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await sleep(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nexus-web-'));
}

/// A nexus-shell with an embedded network and `--web 0`, fed commands on its standard
/// input. `run` sends one command and returns what it printed: the shell answers an
/// unknown command with an error naming it, which marks the end of the one before.
export class Shell {
  static async start(binary, args) {
    const s = new Shell();
    s.proc = spawn(binary, [...args, '--web', '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    s.out = '';
    s.proc.stdout.on('data', (d) => { s.out += d; });
    s.proc.stderr.on('data', (d) => { s.out += d; });
    s.exited = new Promise((resolve) => s.proc.on('exit', resolve));
    const line = await until('the shell to serve its web endpoint',
                             () => /web: the dashboard is at (\S+);/.exec(s.out), 60000);
    s.url = line[1];
    return s;
  }

  async run(command, ms = 120000) {
    const marker = `end-of-${Math.random().toString(36).slice(2)}`;
    const from = this.out.length;
    this.proc.stdin.write(`${command}\n${marker}\n`);
    await until(`'${command}' to finish`, () => this.out.indexOf(`'${marker}'`, from) >= 0, ms);
    const text = this.out.slice(from, this.out.indexOf(`'${marker}'`, from));
    return text.slice(0, text.lastIndexOf('\n') + 1);
  }

  /// Ends the session; returns the shell's exit status (0: every command succeeded and
  /// the sanitizers, in their build, found nothing at exit), or the signal that ended it.
  async stop() {
    this.proc.stdin.end('quit\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 30000);
    await this.exited;
    clearTimeout(timer);
    return this.proc.exitCode ?? this.proc.signalCode;
  }
}

/// The shell's `nodes` table as objects keyed by its header.
export function parseTable(text) {
  const lines = text.split('\n').filter((l) => l.trim());
  const head = lines.findIndex((l) => l.startsWith('NODE'));
  if (head < 0) return [];
  const names = lines[head].trim().split(/\s+/);
  return lines.slice(head + 1).filter((l) => !l.startsWith(' ')).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(names.map((n, i) => [n, cells[i]]));
  });
}

/// Headless chromium from Debian's package, as root, with nothing reaching outside.
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.NEXUS_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
}

/// A tab of its own browser context (its own storage, so its own key) at `url`; its
/// console goes to ours, prefixed with `name`. `fault` makes its worker misbehave
/// (apps/web/worker.js): set in the page before its scripts run, as only a test can.
export async function openTab(browser, url, name, fault) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (fault) await page.addInitScript((f) => { globalThis.nexusTestFault = f; }, fault);
  page.on('console', (m) => console.log(`[${name}] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
  await page.goto(url);
  return { context, page };
}

/// Writes a float32 matrix as .npy (version 1.0, little-endian, C order).
export function writeNpy(file, rows, cols, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

/// Reads a float32 .npy matrix: {rows, cols, values}.
export function readNpy(file) {
  const data = fs.readFileSync(file);
  const len = data.readUInt16LE(8);
  const header = data.toString('latin1', 10, 10 + len);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header);
  if (!header.includes("'<f4'") || !shape) throw new Error(`${file}: not a float32 matrix`);
  const body = data.subarray(10 + len);
  const values = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { rows: Number(shape[1]), cols: Number(shape[2]), values };
}

/// A random m x n matrix of values in [-1, 1) from `seed`.
export function randomMatrix(m, n, seed) {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(m * n);
  for (let i = 0; i < out.length; ++i) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x / 2 ** 32) * 2 - 1;
  }
  return out;
}

/// The largest difference between C and the product A B computed here in doubles,
/// relative to the sum of the magnitudes of each element's terms (what float32 rounding
/// can move it by).
export function productError(a, b, c, m, k, n) {
  let worst = 0;
  for (let i = 0; i < m; ++i)
    for (let j = 0; j < n; ++j) {
      let s = 0, mag = 0;
      for (let p = 0; p < k; ++p) { const t = a[i * k + p] * b[p * n + j]; s += t; mag += Math.abs(t); }
      worst = Math.max(worst, Math.abs(s - c[i * n + j]) / (mag || 1));
    }
  return worst;
}
