"""A trace listener for the tests and the benchmark: what the procviz server does with the
socket, in Python. It binds a Unix socket in a private 0700 directory, accepts every traced
process's connection on a background thread, and keeps each line (parsed, with the pid of
its connection's ``hello``) in arrival order; or, with ``keep=False``, only counts lines.
"""

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

#: The directory holding sitecustomize.py and procviz_trace.py.
TRACER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The teaching programs.
PROGRAMS_DIR = os.path.join(TRACER_DIR, "programs")


class TraceListener:
    def __init__(self, keep=True):
        self.dir = tempfile.mkdtemp(prefix="procviz-trace-")
        os.chmod(self.dir, 0o700)
        self.path = os.path.join(self.dir, "trace.sock")
        self.keep = keep
        self.lines = []  # dicts, each with "pid" and "conn" added
        self.count = 0
        self.bytes = 0
        self.bad = []  # lines that did not parse
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(128)
        self._server.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._server, selectors.EVENT_READ, None)
        self._stop = False
        self._conns = 0
        self._open = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="trace-listener", daemon=True)
        self._thread.start()

    def env(self, extra=None, base=None):
        env = dict(os.environ if base is None else base)
        env["PROCVIZ_TRACE_SOCKET"] = self.path
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = TRACER_DIR + (os.pathsep + old if old else "")
        env.pop("PYTHONUNBUFFERED", None)
        if extra:
            env.update(extra)
        return env

    def _serve(self):
        while not self._stop:
            for key, _ in self._sel.select(timeout=0.05):
                if key.data is None:
                    try:
                        conn, _ = self._server.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    self._conns += 1
                    self._open += 1
                    self._sel.register(conn, selectors.EVENT_READ, [self._conns, b"", None])
                else:
                    self._read(key)

    def _read(self, key):
        conn = key.fileobj
        state = key.data
        try:
            data = conn.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._sel.unregister(conn)
            conn.close()
            with self._lock:
                self._open -= 1
            return
        self.bytes += len(data)
        buf = state[1] + data
        *lines, state[1] = buf.split(b"\n")
        if not self.keep:
            self.count += len(lines)
            return
        parsed = []
        for raw in lines:
            try:
                obj = json.loads(raw)
            except ValueError:
                self.bad.append(raw)
                continue
            if obj.get("k") == "hello":
                state[2] = obj["pid"]
            obj["src"] = state[2]  # the pid of the process that sent it
            obj["conn"] = state[0]
            parsed.append(obj)
        with self._lock:
            self.lines.extend(parsed)
            self.count += len(parsed)

    def settle(self, timeout=5.0):
        """Wait until every connection has closed (their processes exited) or timeout."""
        deadline = time.monotonic() + timeout
        quiet = 0
        seen = -1
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._open == 0 and self.bytes == seen
                seen = self.bytes
            quiet = quiet + 1 if idle else 0
            if quiet >= 3:  # no connection open and nothing new for ~60 ms
                return True
            time.sleep(0.02)
        return False

    def events(self, kind=None):
        with self._lock:
            lines = list(self.lines)
        if kind is None:
            return lines
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        return [e for e in lines if e["k"] in kinds]

    def clear(self):
        with self._lock:
            self.lines = []
            self.count = 0

    def close(self):
        self._stop = True
        self._thread.join(2)
        for key in list(self._sel.get_map().values()):
            try:
                key.fileobj.close()
            except OSError:
                pass
        self._sel.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Run:
    """A finished program run: exit code, real stdout/stderr, the trace, the wall time."""

    def __init__(self, code, stdout, stderr, events, wall):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.events = events
        self.wall = wall

    def of(self, *kinds):
        return [e for e in self.events if e["k"] in kinds]

    def out_lines(self, fd=None):
        """Output lines as the trace attributes them, in arrival order."""
        return [e["s"] for e in self.events if e["k"] == "out" and (fd is None or e["fd"] == fd)]


def python_exe():
    return os.environ.get("PROCVIZ_TEST_PYTHON") or sys.executable


def run_program(args, traced=True, listener=None, timeout=60, extra_env=None, cwd=None, python=None):
    """Run ``python args...``, traced through a fresh listener (or the one given)."""
    cmd = [python or python_exe()] + list(args)
    own = None
    if traced and listener is None:
        own = listener = TraceListener()
    try:
        if traced:
            env = listener.env(extra_env)
        else:
            env = dict(os.environ)
            env.pop("PROCVIZ_TRACE_SOCKET", None)
            env.pop("PYTHONUNBUFFERED", None)
            if extra_env:
                env.update(extra_env)
        start = time.monotonic()
        proc = subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd
        )
        wall = time.monotonic() - start
        events = []
        if traced:
            listener.settle()
            events = listener.events()
            errors = [e for e in events if e["k"] == "err"]
            if errors:  # a tracer hook failed: every test that traces fails on it
                raise AssertionError(f"tracer errors: {errors}")
            if listener.bad:
                raise AssertionError(f"lines that are not JSON: {listener.bad[:3]}")
        return Run(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
            events,
            wall,
        )
    finally:
        if own is not None:
            own.close()


# ---------------------------------------------------------------------------------------------
# comparing output


def stream_text(run, fd):
    """What the program wrote to stdout (fd 1) or stderr (fd 2): when traced, the ``out``
    lines of every process (a partial line joins the next) followed by anything that reached
    the real pipe; untraced, the pipe."""
    real = run.stdout if fd == 1 else run.stderr
    if not run.events:
        return real
    parts = []
    for e in run.events:
        if e["k"] == "out" and e["fd"] == fd:
            parts.append(e["s"] if e.get("p") else e["s"] + "\n")
    return "".join(parts) + real


def root_pid(run):
    """The pid of the program itself (the first process that said hello)."""
    return next(e["pid"] for e in run.events if e["k"] == "hello" and e["via"] == "exec")


def names_by_pid(run):
    """pid -> the multiprocessing name each child reported at start."""
    return {e["src"]: e["name"] for e in run.events if e["k"] == "start"}


def group_alive(pgid):
    """pids of the process group that are still running (zombies do not count)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive
