"""Chunked jobs: every item's index and value must line up (imap, imap_unordered, starmap)."""
import multiprocessing as mp, time
def f(n):
    time.sleep(0.01 * (n % 3))
    return n * 10
if __name__ == "__main__":
    with mp.Pool(3) as p:
        print(list(p.imap(f, range(10), chunksize=3)))
        print(sorted(p.imap_unordered(f, range(10), chunksize=3)))
        print(p.starmap(pow, [(2, k) for k in range(5)], chunksize=2))
