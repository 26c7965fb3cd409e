"""The chef alone: four CPU-bound jobs of about 1 s each.

    python3 chef_alone.py         all four on core 0: the core switches between them (about 4 s)
    python3 chef_alone.py free    on every core (about 2 s on two cores)
"""
import os
import sys
import time
from multiprocessing import Process, current_process


def burn_cpu(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def job(n):
    burn_cpu(1)  # about 1 s of CPU time
    print(f"Job {n} done by {current_process().name}")


if __name__ == "__main__":
    if "free" not in sys.argv[1:]:
        os.sched_setaffinity(0, {0})  # one core; children inherit the allowed cores
    start = time.time()
    jobs = [Process(target=job, args=(n,)) for n in range(1, 5)]
    for p in jobs:
        p.start()
    for p in jobs:
        p.join()
    print(f"time took: {time.time() - start:.1f}")
