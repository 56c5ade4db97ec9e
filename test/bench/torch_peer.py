#!/usr/bin/python3
"""PyTorch peer of the NexusChain training benchmark: the same MLP, data and settings
on Debian's python3-torch (CPU), timed the same way.

usage: torch_peer.py EPOCHS [adam|sgd] [constant|cosine] [BATCH] [LR] [WARM_UP_EPOCHS]
prints: "torch epoch E seconds S loss L test T" per epoch, then
        "torch infer samples/s R" (the best of ten passes over the test set)

An epoch's seconds include its test-set evaluation, as the network's do (its test
inference runs beside the next epoch). WARM_UP_EPOCHS (default 0) are trained first, on
a model of their own, and not timed, as the benchmark warms the network up.
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


def train(xtr, ytr, xte, yte, epochs, opt_name, schedule, batch, lr, report):
    """Trains a fresh model; report(epoch, seconds, loss, test) after each epoch."""
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
        with torch.no_grad():
            test = (model(xte).argmax(1) == yte).float().mean().item()
        report(epoch, time.perf_counter() - start, total / len(xtr), test)
    return model


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    opt_name = sys.argv[2] if len(sys.argv) > 2 else "adam"
    schedule = sys.argv[3] if len(sys.argv) > 3 else "constant"
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3
    warm_up = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    if warm_up:
        torch.manual_seed(2)
        train(xtr, ytr, xte, yte, warm_up, opt_name, schedule, batch, lr, lambda *_: None)

    def report(epoch, seconds, loss, test):
        print(f"torch epoch {epoch} seconds {seconds:.3f} loss {loss:.4f} test {test:.4f}",
              flush=True)

    torch.manual_seed(1)
    model = train(xtr, ytr, xte, yte, epochs, opt_name, schedule, batch, lr, report)
    with torch.no_grad():
        best = 1e30
        for _ in range(10):
            start = time.perf_counter()
            torch.softmax(model(xte), 1)
            best = min(best, time.perf_counter() - start)
    print(f"torch infer samples/s {len(xte) / best:.0f}", flush=True)


if __name__ == "__main__":
    main()
