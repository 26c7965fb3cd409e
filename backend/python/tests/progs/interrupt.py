"""Waits in imap's next() until interrupted (the test sends SIGINT to this process only)."""
import time
from multiprocessing import Pool


def slow(n):
    time.sleep(30)
    return n


if __name__ == "__main__":
    with Pool(1) as pool:
        it = pool.imap(slow, range(2))
        print("waiting", flush=True)
        next(it)
