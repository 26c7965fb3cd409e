import os
import time
from multiprocessing import Pool


def task(n):
    time.sleep(0.02)
    return os.getpid()


if __name__ == "__main__":
    with Pool(2, maxtasksperchild=1) as pool:
        pids = pool.map(task, range(6), chunksize=1)
    print(len(set(pids)), "worker pids")
