#!/usr/bin/python3
"""GPU peer of gemm_bench: float32 square torch.mm on the first CUDA (or ROCm) device with
TF32 off, operands already on the device, best of five.

usage: torch_gpu_peer.py N [N ...]   prints "torch-gpu DEVICE-NAME" once, then
                                     "torch N GFLOPS" per size; "skipped: ..." without a GPU
"""
import sys
import time

try:
    import torch
except ImportError:
    print("skipped: PyTorch is not installed")
    sys.exit(0)

if not torch.cuda.is_available():
    print("skipped: PyTorch sees no GPU")
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
device = torch.device("cuda:0")
print(f"torch-gpu {torch.cuda.get_device_name(device)}", flush=True)
for n in map(int, sys.argv[1:]):
    gen = torch.Generator(device=device).manual_seed(1)
    a = torch.rand((n, n), dtype=torch.float32, device=device, generator=gen)
    b = torch.rand((n, n), dtype=torch.float32, device=device, generator=gen)
    torch.mm(a, b)
    torch.cuda.synchronize()
    best = 1e30
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    print(f"torch {n} {2 * n**3 / best / 1e9:.1f}", flush=True)
