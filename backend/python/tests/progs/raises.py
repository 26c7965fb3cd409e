"""Errors the way CPython reports them, for the tracebacks-untouched tests (argument: which)."""
import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor


def fail(n):
    if n == 2:
        raise ValueError(f"bad input {n}")
    return n


def top():
    return {}["missing"]


if __name__ == "__main__":
    which = sys.argv[1]
    if which == "top":
        print("before")
        top()
    elif which == "map":
        with mp.Pool(2) as pool:
            pool.map(fail, range(4))
    elif which == "imap":
        with mp.Pool(2) as pool:
            print(list(pool.imap(fail, range(4))))
    elif which == "imap_chunks":
        with mp.Pool(2) as pool:
            print(list(pool.imap(fail, range(6), chunksize=2)))
    elif which == "apply":
        with mp.Pool(2) as pool:
            pool.apply(fail, (2,))
    elif which == "executor":
        with ProcessPoolExecutor(2) as executor:
            print(list(executor.map(fail, range(4))))
    elif which == "spawn_lambda":
        mp.get_context("spawn").Process(target=lambda: None).start()
    elif which == "exit3":
        p = mp.Process(target=sys.exit, args=(3,))
        p.start()
        p.join()
        print("exitcode", p.exitcode)
