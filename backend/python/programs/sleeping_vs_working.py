"""Sleeping is not working: the same Pool(4) over eight half-second tasks, first sleeping,
then computing.

    python3 sleeping_vs_working.py          both
    python3 sleeping_vs_working.py sleep    sleeping tasks: they overlap on any number of cores
    python3 sleeping_vs_working.py cpu      CPU tasks: they share the cores
"""
import sys
import time
from multiprocessing import Pool


def burn_cpu(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def sleeping(n):
    time.sleep(0.5)
    return n


def working(n):
    burn_cpu(0.5)
    return n


if __name__ == "__main__":
    choice = sys.argv[1] if len(sys.argv) > 1 else "both"
    for name, task in (("sleep", sleeping), ("cpu", working)):
        if choice in (name, "both"):
            start = time.time()
            with Pool(4) as pool:
                results = pool.map(task, range(8))
            print(results)
            print(f"{task.__name__} took: {time.time() - start:.1f}")
