"""Python's multiprocessing measured beside procviz (run by `cargo bench -p backend --bench runtime`).

Prints one JSON object: imap throughput (tasks/s) for chunksize 1 and 100, process start+join
median (ms) with fork and spawn, and Pool(4) start-up (ms).
"""
import json
import multiprocessing as mp
import statistics
import sys
import time


def noop(n):
    return n


def nothing():
    pass


def imap_rate(tasks, chunksize):
    with mp.get_context("fork").Pool(4) as pool:
        pool.map(noop, range(8))  # warm: every worker is up
        start = time.perf_counter()
        for _ in pool.imap(noop, range(tasks), chunksize=chunksize):
            pass
        return tasks / (time.perf_counter() - start)


def start_join_ms(method, n):
    ctx = mp.get_context(method)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        p = ctx.Process(target=nothing)
        p.start()
        p.join()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def pool_ready_ms(n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        with mp.get_context("fork").Pool(4) as pool:
            pool.map(noop, range(4), chunksize=1)
            samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


if __name__ == "__main__":
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps({
        "python": sys.version.split()[0],
        "imap_chunk1_tasks_per_s": imap_rate(tasks, 1),
        "imap_chunk100_tasks_per_s": imap_rate(tasks, 100),
        "start_join_fork_ms": start_join_ms("fork", 100),
        "start_join_spawn_ms": start_join_ms("spawn", 20),
        "pool4_ready_ms": pool_ready_ms(10),
    }))
