"""The seed's shape, small and quick, under the start method given as argument."""
import multiprocessing as mp
import sys
import time


def task(n):
    print(f"{mp.current_process().name} task {n}", flush=True)
    if n == 0:
        1 / 0
    time.sleep(0.2)
    return n * n


def child(word):
    print(f"{mp.current_process().name} says {word}")


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    p = ctx.Process(target=child, args=("hello",))
    p.start()
    p.join()
    results = []
    with ctx.Pool(2) as pool:
        it = pool.imap(task, range(5))
        while True:
            try:
                results.append(next(it))
            except StopIteration:
                break
            except Exception as e:
                results.append(e)
        results.append(pool.map(task, [5, 6, 7], chunksize=2))
    print(results)
    print("exit code", p.exitcode)
