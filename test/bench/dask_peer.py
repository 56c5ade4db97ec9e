#!/usr/bin/python3
"""Peer measurement for cluster_bench: tiny tasks per second on Dask distributed.

Runs a LocalCluster of 2 worker processes (1 thread each) on this machine and times
N trivial tasks submitted at once, end to end (submit, run, gather). Prints one line:
    dask tasks/s: <rate>
Use Debian's python3 with python3-distributed (apt-get install python3-distributed).
usage: dask_peer.py [N]
"""
import sys
import time


def inc(x):
    return x + 1


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask tasks/s: unavailable (apt-get install python3-distributed)")
        return 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(inc, range(100), pure=False))  # warm up
        start = time.perf_counter()
        futures = client.map(inc, range(n), pure=False)
        results = client.gather(futures)
        elapsed = time.perf_counter() - start
        assert results[-1] == n
    print(f"dask tasks/s: {n / elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
