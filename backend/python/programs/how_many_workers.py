"""How many workers? Eight CPU-bound tasks of half a second each on Pool(n).

    python3 how_many_workers.py 1     (or 2, 4, 8; default 4)
"""
import sys
import time
from multiprocessing import Pool


def burn_cpu(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def work(n):
    burn_cpu(0.5)
    return n


if __name__ == "__main__":
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    start = time.time()
    with Pool(workers) as pool:
        results = pool.map(work, range(8))
    print(results)
    print(f"Pool({workers}) took: {time.time() - start:.1f}")
