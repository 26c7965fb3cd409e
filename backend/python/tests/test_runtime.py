"""The tracer inside a process: threads, output, tracebacks exactly as CPython prints them,
the user's own sitecustomize, and doing nothing where it must not act. Real CPython."""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from listener import TRACER_DIR, TraceListener, root_pid, run_program, stream_text

PROGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "progs")
ADDRESS = re.compile(r"0x[0-9a-f]+")
# Future.result() raises from one of two lines: done already, or after waiting (a race in
# the program itself, traced or not)
RESULT_LINE = re.compile(r'(futures/_base\.py", line )\d+(, in result)')


def comparable(text):
    return RESULT_LINE.sub(r"\1N\2", ADDRESS.sub("0x", text))


def prog(*args):
    return [os.path.join(PROGS, args[0])] + list(args[1:])


class Threads(unittest.TestCase):
    def test_threads_start_and_end_with_native_ids(self):
        run = run_program(prog("threads.py"))
        self.assertEqual(run.code, 0)
        printed = dict(line.split() for line in stream_text(run, 1).splitlines())
        main = root_pid(run)
        self.assertEqual(int(printed.pop("main")), main)  # the main thread's id is the pid
        starts = {e["name"]: e for e in run.of("th_start") if e["src"] == main}
        self.assertEqual(sorted(starts), ["worker-0", "worker-1", "worker-2"])
        for name, tid in printed.items():
            self.assertEqual(starts[name]["tid"], int(tid))
            self.assertNotEqual(int(tid), main)
        ends = [e["tid"] for e in run.of("th_end")]
        self.assertEqual(sorted(ends), sorted(e["tid"] for e in starts.values()))
        for e in starts.values():
            end = next(x for x in run.of("th_end") if x["tid"] == e["tid"])
            self.assertGreaterEqual((end["t"] - e["t"]) / 1e9, 0.09)


class Tracebacks(unittest.TestCase):
    """Errors look exactly as untraced: no procviz frame anywhere, same exit code."""

    def same(self, *args):
        plain = run_program(prog("raises.py", *args), traced=False)
        traced = run_program(prog("raises.py", *args))
        self.assertEqual(traced.code, plain.code)
        for fd in (1, 2):
            self.assertEqual(comparable(stream_text(traced, fd)), comparable(stream_text(plain, fd)))
        self.assertEqual((traced.stdout, traced.stderr), ("", ""))
        self.assertNotIn("procviz", stream_text(traced, 2))
        return traced

    def test_top_level_exception(self):
        run = self.same("top")
        self.assertEqual(run.code, 1)
        self.assertTrue(stream_text(run, 2).startswith("Traceback (most recent call last):\n"))
        self.assertTrue(stream_text(run, 2).endswith("KeyError: 'missing'\n"))

    def test_map_raises_the_first_error(self):
        run = self.same("map")
        self.assertIn("RemoteTraceback", stream_text(run, 2))
        (raised,) = run.of("raised")
        self.assertEqual((raised["et"], raised["em"], raised["lost"]), ("ValueError", "bad input 2", 4))

    def test_imap_next_raises(self):
        run = self.same("imap")
        self.assertEqual([(g["x"], g["ok"]) for g in run.of("got")], [(0, 1), (1, 1), (2, 0)])

    def test_imap_chunks_raise_and_end(self):
        run = self.same("imap_chunks")
        (raised,) = run.of("raised")
        self.assertEqual((raised["et"], raised["lost"]), ("ValueError", 4))

    def test_apply_raises(self):
        self.same("apply")

    def test_executor_raises(self):
        self.same("executor")

    def test_spawn_cannot_pickle_a_lambda(self):
        run = self.same("spawn_lambda")
        self.assertIn("PicklingError", stream_text(run, 2))

    def test_child_exit_code(self):
        run = self.same("exit3")
        self.assertEqual(stream_text(run, 1), "exitcode 3\n")
        self.assertEqual([e["code"] for e in run.of("exit")], [3])
        self.assertEqual([e["code"] for e in run.of("reaped")], [3])


class Interrupted(unittest.TestCase):
    def run_interrupted(self, listener):
        """Start progs/interrupt.py, SIGINT it while next() waits; its exit code and stderr."""
        env = listener.env() if listener else dict(os.environ)
        env.pop("PYTHONUNBUFFERED", None)
        proc = subprocess.Popen(
            [sys.executable, os.path.join(PROGS, "interrupt.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            if listener:
                deadline = time.monotonic() + 20
                while not any(e["s"] == "waiting" for e in listener.events("out")):
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.02)
            else:
                self.assertEqual(proc.stdout.readline(), b"waiting\n")
            time.sleep(0.3)  # in next(), waiting
            os.kill(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        if listener:
            listener.settle()
            return proc.returncode, "".join(
                e["s"] + ("" if e.get("p") else "\n") for e in listener.events("out") if e["fd"] == 2
            ) + err.decode()
        return proc.returncode, err.decode()

    def test_ctrl_c_in_imap_next_reads_as_untraced(self):
        plain_code, plain_err = self.run_interrupted(None)
        with TraceListener() as listener:
            code, err = self.run_interrupted(listener)
        self.assertEqual(code, plain_code)
        self.assertIn("KeyboardInterrupt", plain_err)
        self.assertEqual(comparable(err), comparable(plain_err))
        self.assertNotIn("procviz", err)


class Sitecustomize(unittest.TestCase):
    def user_site(self, body):
        d = tempfile.mkdtemp(prefix="procviz-user-site-")
        with open(os.path.join(d, "sitecustomize.py"), "w") as f:
            f.write(textwrap.dedent(body))
        self.addCleanup(lambda: [os.remove(os.path.join(d, "sitecustomize.py")), os.rmdir(d)])
        return d

    CHECK = "import sitecustomize, sys; print('module:', sitecustomize.__file__); print('flag:', getattr(sys, 'user_site_ran', None))"

    def test_the_users_sitecustomize_still_runs(self):
        d = self.user_site(
            """
            import sys
            sys.user_site_ran = "yes"
            print("user sitecustomize ran")
            """
        )
        env = {"PYTHONPATH": d}
        plain = run_program(["-c", self.CHECK], traced=False, extra_env=env)
        with TraceListener() as listener:
            traced = run_program(
                ["-c", self.CHECK], listener=listener, extra_env={"PYTHONPATH": TRACER_DIR + os.pathsep + d}
            )
        self.assertEqual(plain.stdout, f"user sitecustomize ran\nmodule: {d}/sitecustomize.py\nflag: yes\n")
        self.assertEqual(stream_text(traced, 1), plain.stdout)
        self.assertEqual(traced.stdout, "")

    def test_an_error_in_the_users_sitecustomize_reads_as_untraced(self):
        d = self.user_site("raise RuntimeError('broken site')\n")
        plain = run_program(["-c", "print('still runs')"], traced=False, extra_env={"PYTHONPATH": d})
        with TraceListener() as listener:
            traced = run_program(
                ["-c", "print('still runs')"],
                listener=listener,
                extra_env={"PYTHONPATH": TRACER_DIR + os.pathsep + d},
            )
        self.assertIn("Error in sitecustomize", plain.stderr)
        self.assertEqual(stream_text(traced, 2), plain.stderr)
        self.assertEqual(stream_text(traced, 1), "still runs\n")


class Inactive(unittest.TestCase):
    def test_without_the_variable_nothing_is_traced(self):
        env = dict(os.environ, PYTHONPATH=TRACER_DIR)
        env.pop("PROCVIZ_TRACE_SOCKET", None)
        out = subprocess.run(
            [sys.executable, "-c", "import sys; print(type(sys.stdout).__name__, 'procviz_trace' in sys.modules)"],
            env=env,
            stdout=subprocess.PIPE,
            check=True,
        ).stdout
        self.assertEqual(out, b"TextIOWrapper False\n")

    def test_no_listener_means_output_goes_to_the_pipes(self):
        missing = os.path.join(tempfile.gettempdir(), "procviz-no-such-dir", "trace.sock")
        env = dict(os.environ, PYTHONPATH=TRACER_DIR, PROCVIZ_TRACE_SOCKET=missing)
        env.pop("PYTHONUNBUFFERED", None)
        proc = subprocess.run(
            [sys.executable, os.path.join(TRACER_DIR, "programs", "two_processes.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=True,
        )
        self.assertEqual(sorted(proc.stdout.decode().splitlines()), ["Cube: 1000", "Done!", "Square: 100"])
        self.assertEqual(proc.stderr, b"")

    def test_out_of_scope_interpreters_only_chain(self):
        """CPython 2.7, 3.6 and 3.7 (if installed) run untouched: no connection, and the
        user's sitecustomize still runs."""
        pythons = sorted(
            p
            for pattern in ("2.7*", "3.6*", "3.7*")
            for p in glob.glob(os.path.expanduser(f"~/.pyenv/versions/{pattern}/bin/python"))
        )
        if not pythons:
            self.skipTest("no CPython 2.7/3.6/3.7 under ~/.pyenv/versions")
        d = tempfile.mkdtemp(prefix="procviz-user-site-")
        with open(os.path.join(d, "sitecustomize.py"), "w") as f:
            f.write("import sys\nsys.stdout.write('user site\\n')\n")
        try:
            with TraceListener() as listener:
                env = listener.env({"PYTHONPATH": TRACER_DIR + os.pathsep + d})
                for python in pythons:
                    out = subprocess.run(
                        [python, "-c", "import sys; sys.stdout.write('ok\\n')"],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        check=True,
                    )
                    self.assertEqual((out.stdout, out.stderr), (b"user site\nok\n", b""), python)
                listener.settle()
                self.assertEqual(listener.events(), [])
        finally:
            os.remove(os.path.join(d, "sitecustomize.py"))
            os.rmdir(d)


if __name__ == "__main__":
    unittest.main()
