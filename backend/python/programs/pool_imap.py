import multiprocessing as mp
import time


def my_awesome_foo(n):
    print(f"Process {mp.current_process().name} started working on task {n}", flush=True)
    if n == 0:
        1 / 0
    time.sleep(1)
    print(f"Process {mp.current_process().name} ended working on task {n}", flush=True)
    return n


if __name__ == "__main__":
    tasks = range(10)
    start = time.monotonic()
    results = []
    with mp.Pool(4) as p:
        iterator = p.imap(my_awesome_foo, tasks)
        while True:
            try:
                results.append(next(iterator))
            except StopIteration:
                break
            except Exception as e:
                results.append(e)
    print(f"time took: {time.monotonic() - start:.1f}")
    print(results)
