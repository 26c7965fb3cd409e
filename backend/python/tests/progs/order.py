"""Results in completion order: imap_unordered, apply_async callbacks; and get() in call order."""
import sys
import time
from multiprocessing import Pool

DELAY = {0: 0.45, 1: 0.05, 2: 0.25}  # completion order: 1, 2, 0


def task(n):
    time.sleep(DELAY[n])
    return n


if __name__ == "__main__":
    with Pool(3) as pool:
        if sys.argv[1] == "imap_unordered":
            print(list(pool.imap_unordered(task, range(3))))
        elif sys.argv[1] == "callback":
            got = []
            for n in range(3):
                pool.apply_async(task, (n,), callback=got.append)
            pool.close()
            pool.join()
            print(got)
        elif sys.argv[1] == "get":
            handles = [pool.apply_async(task, (n,)) for n in range(3)]
            print([h.get() for h in handles])
