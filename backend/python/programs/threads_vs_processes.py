"""The same CPU work as four threads of one process, then as four processes.

    python3 threads_vs_processes.py              both, threads first
    python3 threads_vs_processes.py threads      four threads: the GIL lets one run at a time
    python3 threads_vs_processes.py processes    four processes: one interpreter each
"""
import sys
import time
from multiprocessing import Process
from threading import Thread


def burn_cpu(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def run(kind, label):
    start = time.time()
    workers = [kind(target=burn_cpu, args=(1,)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"4 {label} took: {time.time() - start:.1f}")


if __name__ == "__main__":
    choice = sys.argv[1] if len(sys.argv) > 1 else "both"
    if choice in ("threads", "both"):
        run(Thread, "threads")
    if choice in ("processes", "both"):
        run(Process, "processes")
