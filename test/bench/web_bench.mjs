// Browser workers, measured in one run on one machine:
// 1. The WebAssembly GEMM (compute/kernels/sgemm_wasm.cpp) in headless chromium against
//    the native kernel on one thread, square float32 products of 256, 512 and 1024, best
//    of five each. Target: at least 0.3x.
// 2. Small shards one browser worker sustains end to end: matmuls of one-row shards on
//    a network whose one native worker crashes on its first shard (--fault crash), so
//    the browser tab computes every shard after it; validated shards per second.
//
// usage: node test/bench/web_bench.mjs KERNEL_THREAD_BENCH NEXUS_SHELL
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Shell, launchBrowser, openTab, parseTable, tempDir, until } from '../web/harness.mjs';

const [kernelBench, shellBinary] = process.argv.slice(2);
const sizes = [256, 512, 1024];

const native = {};
const out = execFileSync(kernelBench, sizes.map(String), { encoding: 'utf8' });
for (const m of out.matchAll(/^native (\d+) ([\d.]+)$/gm)) native[m[1]] = Number(m[2]);
const isa = /^kernel (\S+)/m.exec(out)?.[1];

const dir = tempDir();
const shell = await Shell.start(shellBinary, ['--data', path.join(dir, 'data'), '--workers', '1',
                                              '--faulty-workers', '1', '--fault', 'crash',
                                              '--validators', '1']);
const browser = await launchBrowser();
try {
  // 1. The kernel alone, in a page of the hub (which serves the module).
  const { page } = await openTab(browser, shell.url, 'bench');
  const wasm = await page.evaluate(async (sizes) => {
    const imports = { wasi_snapshot_preview1: { proc_exit: () => {} },
                      env: { emscripten_notify_memory_growth: () => {} } };
    const { instance } = await WebAssembly.instantiateStreaming(fetch('/nexus_kernels.wasm'), imports);
    const k = instance.exports;
    k._initialize();
    const result = {};
    for (const n of sizes) {
      const pa = k.nexus_alloc(n * n), pb = k.nexus_alloc(n * n), pc = k.nexus_alloc(n * n);
      new Float32Array(k.memory.buffer, pa, n * n).fill(0.5);
      new Float32Array(k.memory.buffer, pb, n * n).fill(0.25);
      k.nexus_sgemm_wasm(0, 0, n, n, n, 1, pa, n, pb, n, 0, pc, n); // warm
      let best = Infinity;
      for (let rep = 0; rep < 5; ++rep) {
        const t0 = performance.now();
        k.nexus_sgemm_wasm(0, 0, n, n, n, 1, pa, n, pb, n, 0, pc, n);
        best = Math.min(best, (performance.now() - t0) / 1e3);
      }
      result[n] = (2 * n * n * n) / best / 1e9;
      k.nexus_free(pa); k.nexus_free(pb); k.nexus_free(pc);
    }
    return result;
  }, sizes);
  console.log(`GEMM, one thread, GFLOP/s (native kernel: ${isa}):`);
  for (const n of sizes)
    console.log(`  ${n}^3  wasm ${wasm[n].toFixed(1)}  native ${native[n].toFixed(1)}  ratio ${(wasm[n] / native[n]).toFixed(2)}x`);

  // 2. Small shards through one browser worker, once the native one crashed.
  await openTab(browser, `${shell.url}?contribute`, 'worker');
  await until('the tab to join', async () =>
    parseTable(await shell.run('nodes')).some((r) => r.NODE.startsWith('browser-')));
  await shell.run('submit matmul --m 8 --k 64 --n 64 --shards 8', 120000); // the crash
  const workers = parseTable(await shell.run('nodes')).filter((r) => r.ROLE === 'worker' && r.STATE === 'alive');
  if (workers.length !== 1 || !workers[0].NODE.startsWith('browser-'))
    throw new Error(`expected the browser alone, got ${workers.map((r) => r.NODE).join(', ')}`);
  for (const rows of [500, 2000]) {
    const report = await shell.run(`submit matmul --m ${rows} --k 64 --n 64 --shards ${rows}`, 600000);
    const seconds = Number(/done in ([\d.]+) s/.exec(report)?.[1]); // the hub's own clock
    if (!(seconds > 0)) throw new Error(report);
    console.log(`small shards: ${rows} one-row shards (64x64 each) in ${seconds.toFixed(2)} s through the browser worker: ${(rows / seconds).toFixed(0)} shards/s`);
  }
} finally {
  await browser.close();
  await shell.stop();
}
