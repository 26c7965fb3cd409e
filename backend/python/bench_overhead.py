"""What tracing costs: the same programs traced and untraced, walls and ratios.

    python3 bench_overhead.py [--rounds N] [--tasks N] [--method fork|spawn|forkserver] [--seed]

1. ``Pool(4).imap`` over 100,000 no-op tasks, chunksize 1 (target: traced <= 1.3x untraced).
   The wall is measured inside the program, from ``Pool(4)`` to the last result (interpreter
   start-up is left out, in both runs alike); a listener in this process drains the socket
   as procviz's server would.
2. ``--seed``: programs/pool_imap.py as written, wall of the whole process
   (target: traced within 2 %).
Rounds alternate untraced/traced so drift in the machine's load hits both; the medians are
compared.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))
from listener import PROGRAMS_DIR, TraceListener  # noqa: E402

NOOP_PROGRAM = r"""
import multiprocessing as mp, os, sys, time

def noop(x):
    return x

if __name__ == "__main__":
    mp.set_start_method(sys.argv[2])
    start = time.monotonic()
    with mp.Pool(4) as pool:
        n = 0
        for _ in pool.imap(noop, range(int(sys.argv[1])), chunksize=1):
            n += 1
    # os.write: to the real stdout even when traced (print would go into the trace)
    os.write(1, b"%f %d\n" % (time.monotonic() - start, n))
"""


CPU = []  # (label, cpu seconds of the program and all its processes, listener cpu seconds)


def cpu_now():
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return c.ru_utime + c.ru_stime, s.ru_utime + s.ru_stime


def run(cmd, listener, label=None):
    env = listener.env() if listener is not None else dict(os.environ)
    if listener is None:
        env.pop("PROCVIZ_TRACE_SOCKET", None)
    env.pop("PYTHONUNBUFFERED", None)
    before = cpu_now()
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    wall = time.monotonic() - start
    if listener is not None:
        listener.settle()
    after = cpu_now()
    if label:
        CPU.append((label, after[0] - before[0], after[1] - before[1]))
    return wall, proc.stdout.decode()


def cpu_summary(plain_label, traced_label):
    plain = statistics.median(c for label, c, _ in CPU if label == plain_label)
    traced = statistics.median(c for label, c, _ in CPU if label == traced_label)
    listener = statistics.median(s for label, _, s in CPU if label == traced_label)
    print(f"  CPU of all the program's processes (user+sys, median): untraced {plain:.2f} s, "
          f"traced {traced:.2f} s ({traced / plain:.2f}x); the listener: {listener:.2f} s", flush=True)


def compare(label, plain, traced, target):
    p, t = statistics.median(plain), statistics.median(traced)
    print(f"{label}: untraced {p:.3f} s, traced {t:.3f} s (medians of {len(plain)}), "
          f"ratio {t / p:.3f} ({target}); per round (paired): "
          f"{statistics.median(b / a for a, b in zip(plain, traced)):.3f}; "
          f"fastest runs: {min(traced) / min(plain):.3f}")
    print(f"  untraced: {', '.join(f'{x:.3f}' for x in plain)}")
    print(f"  traced:   {', '.join(f'{x:.3f}' for x in traced)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--method", default="fork")
    parser.add_argument("--seed", action="store_true", help="also the seed pool program")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()

    print(f"python: {args.python}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    with TraceListener(keep=False) as listener:
        plain, traced, lines = [], [], []
        # a file, not -c: spawn and forkserver children import the main module to find noop
        program = os.path.join(listener.dir, "noop_pool.py")
        with open(program, "w") as f:
            f.write(NOOP_PROGRAM)
        cmd = [args.python, program, str(args.tasks), args.method]
        for _ in range(args.rounds):
            plain.append(float(run(cmd, None, "noop plain")[1].split()[0]))
            before = listener.count
            traced.append(float(run(cmd, listener, "noop traced")[1].split()[0]))
            lines.append(listener.count - before)
        compare(
            f"Pool(4).imap, {args.tasks:,} no-op tasks, chunksize 1, {args.method} "
            f"({statistics.median(lines):,.0f} trace lines per run)",
            plain,
            traced,
            "target <= 1.3",
        )
        cpu_summary("noop plain", "noop traced")
        if args.seed:
            seed = [args.python, os.path.join(PROGRAMS_DIR, "pool_imap.py")]
            plain, traced = [], []
            for _ in range(args.rounds):
                plain.append(run(seed, None, "seed plain")[0])
                traced.append(run(seed, listener, "seed traced")[0])
            compare("programs/pool_imap.py, whole process", plain, traced, "target within 2 %")
            cpu_summary("seed plain", "seed traced")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
