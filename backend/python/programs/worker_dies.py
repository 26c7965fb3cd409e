"""A worker dies mid-task.

    python3 worker_dies.py             Pool.map: the result of task 5 never arrives, so map
                                       never returns (stop it with Ctrl-C)
    python3 worker_dies.py executor    ProcessPoolExecutor.map raises BrokenProcessPool
    ... outside                        nobody kills the worker here: kill one yourself

Half a second into task 5 its worker is killed with SIGKILL, as the kernel's out-of-memory
killer would do it.
"""
import multiprocessing as mp
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

KILLED_TASK = -1 if "outside" in sys.argv[1:] else 5


def task(n):
    print(f"Process {mp.current_process().name} started working on task {n}", flush=True)
    if n == KILLED_TASK:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(1)
    print(f"Process {mp.current_process().name} ended working on task {n}", flush=True)
    return n


if __name__ == "__main__":
    start = time.time()
    if "executor" in sys.argv[1:]:
        with ProcessPoolExecutor(4) as executor:
            try:
                results = list(executor.map(task, range(10)))
            except BrokenProcessPool as e:
                results = [e]
    else:
        with mp.Pool(4) as pool:
            results = pool.map(task, range(10))
    print(f"time took: {time.time() - start:.1f}")
    print(results)
