#!/usr/bin/python3
"""net.matmul of N x N x N float32 from Python against the same through the C++ client
(client_matmul_bench, the public API on an embedded network of the same size) and against
numpy's @ in this process, in the same run. Each round times RUNS products on each side
(after a warm-up) and compares medians; three rounds give the range of each ratio.

usage: python_bench.py CLIENT_BENCH [N RUNS WORKERS VALIDATORS]
"""
import statistics
import subprocess
import sys
import time

import numpy as np

import nexuschain as nx


def python_side(a, b, runs, workers, validators):
    times = []
    with nx.local(workers=workers, validators=validators) as net:
        for i in range(runs + 1):
            start = time.perf_counter()
            c = net.matmul(a, b, progress=False)
            took = time.perf_counter() - start
            if i == 0:
                expected = a[:4] @ b  # a spot check, outside the timing
                assert np.abs(c[:4] - expected).max() <= 1e-3 * np.abs(expected).max()
            else:
                times.append(took)
    return statistics.median(times)


def cpp_side(bench, n, runs, workers, validators):
    out = subprocess.run([bench, str(n), str(runs), str(workers), str(validators)],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"{bench} failed: {out.stdout}{out.stderr}")
    return float(out.stdout.split()[-1])


def numpy_side(a, b, runs):
    a @ b
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    bench = sys.argv[1]
    n, runs, workers, validators = (list(map(int, sys.argv[2:6])) or [2048, 7, 4, 2])
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    print(f"matmul {n}^3 float32, embedded network of {workers} workers and {validators} "
          f"validators, median of {runs} runs per side and round", flush=True)
    vs_cpp, vs_numpy, sums = [], [], [0.0, 0.0]
    for r in range(3):
        py = python_side(a, b, runs, workers, validators)
        cpp = cpp_side(bench, n, runs, workers, validators)
        npy = numpy_side(a, b, runs)
        vs_cpp.append(py / cpp)
        sums[0] += py
        sums[1] += cpp
        vs_numpy.append(py / npy)
        print(f"round {r + 1}: python {py:.3f} s, C++ client {cpp:.3f} s, numpy @ {npy:.3f} s; "
              f"python / C++ {py / cpp:.3f}, python / numpy {py / npy:.2f}", flush=True)
    # A task's end is seen by polling every 50 ms on both sides: a round's median moves by
    # that much, so the rounds together say more than any one.
    print(f"python / C++ client over the three rounds: {sums[0] / sums[1]:.3f}")
    print(f"python / C++ client: {min(vs_cpp):.3f}-{max(vs_cpp):.3f} (target: at most 1.05); "
          f"python / numpy @: {min(vs_numpy):.2f}-{max(vs_numpy):.2f}")


if __name__ == "__main__":
    main()
