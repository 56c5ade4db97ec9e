#!/usr/bin/python3
"""PyTorch peer of the NexusChain training benchmark: the same MLP, data and settings
on Debian's python3-torch (CPU), timed the same way.

usage: torch_peer.py EPOCHS [adam|sgd] [constant|cosine] [BATCH] [LR]
prints: "torch epoch E seconds S loss L test T" per epoch, then
        "torch infer samples/s R"
"""
import gzip
import sys
import time

try:
    import numpy as np
    import torch
except ImportError:
    print("skipped: python3-torch or python3-numpy is not installed")
    sys.exit(0)

DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(part):
    x = idx(f"{DIR}/{part}-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)
    y = idx(f"{DIR}/{part}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return torch.from_numpy((x / 255.0 - MEAN) / STD), torch.from_numpy(y)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    opt_name = sys.argv[2] if len(sys.argv) > 2 else "adam"
    schedule = sys.argv[3] if len(sys.argv) > 3 else "constant"
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3
    torch.manual_seed(1)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    if opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    steps = (len(xtr) + batch - 1) // batch
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
             if schedule == "cosine" else None)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        perm = torch.randperm(len(xtr))
        total = 0.0
        for s in range(steps):
            idx_ = perm[s * batch:(s + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx_]), ytr[idx_])
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            total += loss.item() * len(idx_)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            test = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"torch epoch {epoch} seconds {seconds:.3f} loss {total / len(xtr):.4f} "
              f"test {test:.4f}", flush=True)
    with torch.no_grad():
        best = 1e30
        for _ in range(3):
            start = time.perf_counter()
            torch.softmax(model(xte), 1)
            best = min(best, time.perf_counter() - start)
    print(f"torch infer samples/s {len(xte) / best:.0f}", flush=True)


if __name__ == "__main__":
    main()
