#!/usr/bin/python3
"""numpy peer of gemm_bench: float32 square GEMMs through numpy (OpenBLAS when Debian's
libopenblas0-pthread is installed), best of three.

usage: numpy_peer.py N [N ...]      prints "numpy N GFLOPS" per size
"""
import sys
import time

try:
    import numpy as np
except ImportError:
    print("skipped: python3-numpy is not installed")
    sys.exit(0)

for n in map(int, sys.argv[1:]):
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = 1e30
    for _ in range(3):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    print(f"numpy {n} {2 * n**3 / best / 1e9:.1f}", flush=True)
