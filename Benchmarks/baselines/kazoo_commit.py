#!/usr/bin/python3
"""kazoo baseline for scripts/bench (row 1): commit N offsets with one kazoo transaction.

    /usr/bin/python3 kazoo_commit.py CONNECT ROOT N WARMUP REPS SEED [CHUNK_BYTES]

What many teams script: `client.transaction()`, one `set_data(path, value, version)` per partition,
`commit()`. Transactions are split below CHUNK_BYTES with the same size estimate as the Swift and C
benches (64 bytes per transaction + 16 + path + data bytes per op), committed one after another. Repetition r writes
SEED + r*N + p to ROOT/p. Prints one line per timed repetition: elapsed microseconds.
REPS "-" is the driven mode: after the warmup print "ready", then one timed repetition per line of stdin.
"""
import logging
import sys
import time

from kazoo.client import KazooClient


def main():
    connect, root = sys.argv[1], sys.argv[2]
    n, warmup, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[6])
    driven = sys.argv[5] == "-"
    reps = 10**9 if driven else int(sys.argv[5])
    chunk_bytes = int(sys.argv[7]) if len(sys.argv) > 7 else 768 * 1024
    logging.basicConfig(level=logging.ERROR)
    client = KazooClient(hosts=connect, timeout=10.0)
    client.start(timeout=10)
    paths = [f"{root}/{p}" for p in range(n)]
    # Versions first (pipelined, not timed).
    asyncs = [client.get_async(path) for path in paths]
    versions = [a.get()[1].version for a in asyncs]
    for r in range(warmup + reps):
        if driven and r == warmup:
            print("ready", flush=True)
        if driven and r >= warmup and not sys.stdin.readline():
            break
        base = seed + r * n
        t0 = time.perf_counter()
        start = 0
        while start < n:
            tx = client.transaction()
            size = 64  # the store's fixed allowance per transaction
            end = start
            while end < n:
                data = str(base + end).encode()
                op = 16 + len(paths[end]) + len(data)
                if end > start and size + op > chunk_bytes:
                    break
                tx.set_data(paths[end], data, versions[end])
                size += op
                end += 1
            results = tx.commit()
            for i, result in enumerate(results):
                if isinstance(result, Exception):
                    sys.exit(f"kazoo_commit: {paths[start + i]}: {result!r}")
                versions[start + i] = result.version
            start = end
        t1 = time.perf_counter()
        if r >= warmup:
            print(int((t1 - t0) * 1e6), flush=True)
    client.stop()
    client.close()


if __name__ == "__main__":
    main()
