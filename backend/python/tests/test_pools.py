"""Pool semantics seen through the trace: start methods, maxtasksperchild, completion order,
ProcessPoolExecutor. Real CPython, real processes."""

import os
import re
import unittest
from concurrent.futures import ThreadPoolExecutor

from listener import names_by_pid, root_pid, run_program, stream_text

PROGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "progs")
METHOD_PREFIX = re.compile(r"\b(?:Fork|Spawn|ForkServer)(PoolWorker|Process)")
WORKER_NUMBER = re.compile(r"PoolWorker-\d+")  # which worker takes a task is not deterministic


def summary(run):
    """What must not depend on the start method: processes, jobs, tasks, results, output."""
    names = names_by_pid(run)
    main = root_pid(run)

    def who(pid):
        return "main" if pid == main else METHOD_PREFIX.sub(r"\1", names.get(pid, "?"))

    children = sorted(
        (METHOD_PREFIX.sub(r"\1", e["name"]), e["role"]) for e in run.of("start") if e["role"] != "forkserver"
    )
    children = [c for c in children if c[1] != "resource_tracker"]
    jobs = [(j["api"], j["cs"], j.get("n")) for j in run.of("job")]
    tasks = sorted(
        (e["job"], e["i"], e.get("c", 0), e["ok"], e.get("r"), e.get("et")) for e in run.of("te")
    )
    got = [(g["job"], g["x"], g["ok"], g.get("r"), g.get("et")) for g in run.of("got")]
    out = sorted(
        (who(e["src"]).split("-")[0], WORKER_NUMBER.sub("PoolWorker-N", METHOD_PREFIX.sub(r"\1", e["s"])))
        for e in run.of("out")
    )
    spawned = sorted(METHOD_PREFIX.sub(r"\1", s["name"]) for s in run.of("spawn"))
    # a pool worker may end by itself before terminate()'s SIGTERM, or not: only the Process
    plain = {e["src"] for e in run.of("start") if e["role"] == "process"}
    exits = sorted(e["code"] for e in run.of("exit") if e["src"] in plain)
    return {
        "children": children,
        "spawned": spawned,
        "jobs": jobs,
        "tasks": tasks,
        "got": got,
        "out": out,
        "exits": exits,
        "code": run.code,
    }


class Pools(unittest.TestCase):
    maxDiff = None

    def test_fork_spawn_forkserver_give_the_same_events(self):
        methods = ("fork", "spawn", "forkserver")
        with ThreadPoolExecutor(3) as ex:
            runs = dict(zip(methods, ex.map(lambda m: run_program([os.path.join(PROGS, "methods.py"), m]), methods)))
        for method, run in runs.items():
            self.assertEqual(run.code, 0, run.stderr)
            self.assertEqual({s["method"] for s in run.of("spawn")}, {method})
            self.assertEqual({e["method"] for e in run.of("start") if e["role"] in ("process", "pool_worker")}, {method})
            self.assertEqual([p["method"] for p in run.of("pool")], [method])
            self.assertEqual(run.of("err"), [])
        fork = summary(runs["fork"])
        self.assertEqual(fork["jobs"], [("imap", 1, 5), ("map", 2, 3)])
        self.assertEqual([g[1] for g in fork["got"]], [0, 1, 2, 3, 4, 0, 1, 2])
        self.assertEqual(fork["children"], [("PoolWorker-2", "pool_worker"), ("PoolWorker-3", "pool_worker"), ("Process-1", "process")])
        for method in ("spawn", "forkserver"):
            self.assertEqual(summary(runs[method]), fork, method)
        forkserver = [e for e in runs["forkserver"].of("start") if e["role"] == "forkserver"]
        self.assertEqual(len(forkserver), 1)

    def test_maxtasksperchild_shows_new_pids(self):
        run = run_program([os.path.join(PROGS, "maxtasks.py")])
        self.assertEqual(stream_text(run, 1), "6 worker pids\n")
        (pool,) = run.of("pool")
        self.assertEqual((pool["size"], pool["maxtasks"]), (2, 1))
        self.assertEqual(len({e["src"] for e in run.of("ts")}), 6)
        spawns = run.of("spawn")
        self.assertEqual([s["name"] for s in spawns], [f"ForkPoolWorker-{n}" for n in range(1, len(spawns) + 1)])
        replaced = [s["replaces"] for s in spawns if "replaces" in s]
        self.assertGreaterEqual(len(replaced), 4)
        exited = {r["pid"] for r in run.of("reaped")}
        self.assertTrue(set(replaced) <= exited)
        self.assertEqual([g["x"] for g in run.of("got")], list(range(6)))

    def completion_order(self, run):
        """Task indexes in the order the workers finished them."""
        return [e["i"] for e in sorted(run.of("te"), key=lambda e: e["t"])]

    def test_imap_unordered_delivers_in_completion_order(self):
        run = run_program([os.path.join(PROGS, "order.py"), "imap_unordered"])
        self.assertEqual(stream_text(run, 1), "[1, 2, 0]\n")
        self.assertEqual(self.completion_order(run), [1, 2, 0])
        self.assertEqual([g["x"] for g in run.of("got")], [1, 2, 0])
        self.assertEqual([g["r"] for g in run.of("got")], ["1", "2", "0"])

    def test_apply_async_callbacks_in_completion_order(self):
        run = run_program([os.path.join(PROGS, "order.py"), "callback"])
        self.assertEqual(stream_text(run, 1), "[1, 2, 0]\n")
        jobs = {j["job"]: n for n, j in enumerate(run.of("job"))}  # job -> input n
        self.assertEqual([j["api"] for j in run.of("job")], ["apply_async"] * 3)
        got = run.of("got")
        self.assertEqual([jobs[g["job"]] for g in got], [1, 2, 0])
        self.assertTrue(all(g.get("cb") == 1 for g in got))
        self.assertEqual(len(run.of("close")), 1)

    def test_apply_async_get_in_call_order(self):
        run = run_program([os.path.join(PROGS, "order.py"), "get"])
        self.assertEqual(stream_text(run, 1), "[0, 1, 2]\n")
        jobs = {j["job"]: n for n, j in enumerate(run.of("job"))}
        self.assertEqual([jobs[g["job"]] for g in run.of("got")], [0, 1, 2])
        self.assertTrue(all("cb" not in g for g in run.of("got")))

    def test_chunked_jobs_number_every_item(self):
        run = run_program([os.path.join(PROGS, "chunks.py")])
        self.assertEqual(run.code, 0, run.stderr)
        jobs = {j["job"]: j for j in run.of("job")}
        self.assertEqual([(j["api"], j["cs"], j["n"]) for j in jobs.values()], [("imap", 3, 10), ("imap_unordered", 3, 10), ("starmap", 2, 5)])
        expected = {0: lambda x: 10 * x, 1: lambda x: 10 * x, 2: lambda x: 2**x}
        for job, j in jobs.items():
            ends = [e for e in run.of("te") if e["job"] == job]
            self.assertEqual(sorted(e["i"] * j["cs"] + e["c"] for e in ends), list(range(j["n"])))
            for e in ends:
                self.assertEqual(e["r"], str(expected[job](e["i"] * j["cs"] + e["c"])))
            got = [g for g in run.of("got") if g["job"] == job]
            self.assertEqual(sorted(g["x"] for g in got), list(range(j["n"])))
            for g in got:
                self.assertEqual(g["r"], str(expected[job](g["x"])))
            starts = [e for e in run.of("ts") if e["job"] == job]
            self.assertEqual(sorted(e["i"] * j["cs"] + e["c"] for e in starts), list(range(j["n"])))
            self.assertEqual(sum(e.get("cn", 0) for e in starts), j["n"])  # one cn per chunk
        self.assertEqual([g["x"] for g in run.of("got") if g["job"] == 0], list(range(10)))

    def test_executor_tasks_and_results(self):
        run = run_program([os.path.join(PROGS, "raises.py"), "executor"])
        self.assertEqual(run.code, 1)
        (pool,) = run.of("pool")
        self.assertEqual((pool["kind"], pool["size"]), ("executor", 2))
        self.assertEqual([j["api"] for j in run.of("job")], ["map"] * 4)
        self.assertEqual(sorted(e["job"] for e in run.of("te")), [0, 1, 2, 3])
        failed = [e for e in run.of("te") if not e["ok"]]
        self.assertEqual([(e["job"], e["et"], e["em"]) for e in failed], [(2, "ValueError", "bad input 2")])
        got = run.of("got")
        self.assertEqual([(g["job"], g["ok"]) for g in got], [(0, 1), (1, 1), (2, 0)])
        self.assertEqual({s["pool"] for s in run.of("spawn")}, {pool["pool"]})
        self.assertEqual({e["role"] for e in run.of("start")}, {"executor_worker"})


if __name__ == "__main__":
    unittest.main()
