"""procviz's CPython tracer: what a real Python program's processes, pools, tasks, threads
and output do, sent live to procviz as NDJSON over a Unix socket. PROTOCOL.md next to this
file is the contract; this comment is how it works.

Theory of operation
-------------------
- ``sitecustomize`` calls :func:`install` in every Python process that starts with
  ``PROCVIZ_TRACE_SOCKET`` set: the program, spawn and forkserver children (fresh
  interpreters with the same environment), the forkserver and the resource tracker. Fork
  children inherit the installed tracer; ``os.register_at_fork`` gives each its own
  connection.
- Nothing is imported early: a ``sys.meta_path`` finder patches ``threading``,
  ``multiprocessing.*`` and ``concurrent.futures.process`` right after they are first
  executed (or at once, when already imported).
- Tracebacks the user sees stay as CPython prints them. A wrapper function on a path an
  exception can take out of user code would add a ``procviz_trace.py`` line to it, so those
  paths are observed without one: the parent's ``spawn`` comes from a property on
  ``BaseProcess._popen`` (assigned right after the fork, while the target is still known),
  exits from a property on ``Popen.returncode``, the caller's results from a property on
  ``ApplyResult._value`` (read by ``get()``), from the entries of ``IMapIterator._items``
  (``next()`` unpacks each one, which calls its ``__iter__``; the deque keeps its own C
  ``popleft``) and from a ``Future`` subclass whose ``_exception`` is read by ``result()``. Pool workers are left as CPython wrote them: at
  ``_bootstrap`` the worker's task queue ``get`` and result queue ``put`` are replaced on the
  queue objects (per process, nothing is pickled), so the task starts when ``get`` hands it
  out and ends when its result is ``put``. A chunk (``mapstar``/``starmapstar``, or
  ``_process_chunk`` for ``ProcessPoolExecutor.map``) gets an iterator in place of its
  tuple: each item's start is seen when ``map`` pulls it, without a frame around the user's
  function. (The issue asked for a module-level replacement of ``multiprocessing.pool.worker``;
  hooking the queues at ``_bootstrap`` does the same for every start method and keeps
  worker tracebacks byte-identical.)
- Output: ``sys.stdout``/``sys.stderr`` become line writers that send each line as an
  ``out`` line of the process that wrote it, instead of writing it to the inherited pipe.
  While the connection is up these lines are the only copy (no duplicates); the pipes carry
  only what bypasses ``sys.stdout`` (C code, ``os.write``, non-Python children). Without a
  connection the writers write through.
- Sending: lines are built as ASCII strings and kept in a list; one ``sendall`` sends them
  all. Process, thread, pool and output lines are sent at once. Task and result lines are
  batched while a worker runs a streak of short tasks (at most 256 lines or 5 ms), and sent
  before the process waits: before a worker blocks for its next task, when the caller takes
  the last result there is (``next()``), when the result thread goes idle, after ``get()``,
  before ``fork`` and at exit. No extra thread, and the send lock is never held across a fork.
"""

import os
import sys
import _thread
from time import monotonic_ns as _now

try:
    from _json import encode_basestring_ascii as _esc
except ImportError:  # pragma: no cover - CPython always has _json
    from json.encoder import encode_basestring_ascii as _esc

#: The protocol version in ``hello``.
PROTOCOL_VERSION = 1
#: Batched lines are sent when this many are pending ...
_MAX_LINES = 256
#: ... or when the previous send is this old (ns) at the next line.
_MAX_DELAY_NS = 5_000_000
#: A task shorter than this (ns) counts toward a streak of short tasks ...
_SHORT_TASK_NS = 1_000_000
#: ... and after this many in a row a worker batches its task lines.
_STREAK = 8
#: Result reprs longer than this are cut (with an ellipsis).
_REPR_MAX = 200
#: An output line longer than this is cut (``cut`` gives its length).
_OUT_MAX = 65_536
#: Internal errors reported per process (then counted silently in the last one).
_MAX_ERRORS = 20

_active = False  # tracing in this process (connected)
_installed = False
_path = None
_sock = None
_buf = []  # pending lines (str, each ending in "\n")
_last = 0  # when the buffer was last sent (ns)
_lock = _thread.allocate_lock()
_lock_owner = None
_get_ident = _thread.get_ident
_tl = _thread._local()  # per thread: t0 of a process start
_errors = 0
_final = False  # after atexit: send every line at once
_fast = 0  # worker: consecutive short tasks
_cur = None  # worker: the task being run (job, i, feed, t0)
_pools = {}  # this process's pools: number -> _Pool
_worker_pool = {}  # pid of a pool worker this process started -> pool number
_pool_counter = 0
_getframe = sys._getframe


# ---------------------------------------------------------------------------------------------
# sending


def _connect(via):
    """Open this process's connection and send ``hello``; on failure, stop tracing here."""
    global _sock, _active, _last
    import _socket

    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.connect(_path)
        except OSError:
            sock.close()
            raise
    except OSError:
        _sock = None
        _active = False
        return False
    _sock = sock
    _active = True
    v = sys.version_info
    py = "%d.%d.%d" % (v[0], v[1], v[2])
    if v[3] != "final":
        py += "%s%d" % (v[3][0], v[4])
    line = '{"k":"hello","v":%d,"t":%d,"pid":%d,"ppid":%d,"via":"%s","py":"%s","exe":%s}\n' % (
        PROTOCOL_VERSION,
        _now(),
        os.getpid(),
        os.getppid(),
        via,
        py,
        _esc(sys.executable or ""),
    )
    _buf.insert(0, line)
    _last = 0
    _flush()
    return _active


def _flush():
    """Send every pending line (one ``sendall``)."""
    global _last, _lock_owner
    if not _buf or _sock is None:
        return
    me = _get_ident()
    if _lock_owner == me:  # re-entered (a signal handler printed while we were sending)
        return
    with _lock:
        _lock_owner = me
        try:
            n = len(_buf)
            if not n:
                return
            data = "".join(_buf[:n])
            del _buf[:n]
            try:
                _sock.sendall(data.encode("ascii"), _NOSIGNAL)
            except OSError:
                _lost_connection()
            _last = _now()
        finally:
            _lock_owner = None


def _lost_connection():
    """The server went away: stop tracing; output writes through from now on."""
    global _active, _sock
    _active = False
    sock, _sock = _sock, None
    del _buf[:]
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LineWriter):
            stream._write_through_pending()


def _emit(line, t):
    """Queue a batched line; send when the batch is full or the last send is old."""
    _buf.append(line)
    if _final or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
        _flush()


def _tick(t):
    """Send the pending lines if the batch is full or the last send is old."""
    if _final or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
        _flush()


def _emit_now(line):
    """Queue a line and send at once (with anything pending)."""
    _buf.append(line)
    _flush()


def _hold():
    """A worker in a streak of short tasks keeps batching for now."""
    return _fast >= _STREAK and len(_buf) < _MAX_LINES and _now() - _last < _MAX_DELAY_NS


def _error(where):
    """A hook failed: report it (the program goes on untouched)."""
    global _errors
    _errors += 1
    if not _active or _errors > _MAX_ERRORS:
        return
    exc = sys.exc_info()[1]
    try:
        msg = "%s: %s" % (type(exc).__name__, exc)
    except Exception:
        msg = type(exc).__name__
    _emit_now(
        '{"k":"err","t":%d,"where":%s,"msg":%s,"count":%d}\n'
        % (_now(), _esc(where), _esc(msg[:500]), _errors)
    )


def _before_fork():
    if _active:
        try:
            _flush()
        except Exception:
            pass


def _after_fork_in_child():
    global _sock, _lock, _lock_owner, _pools, _worker_pool, _pool_counter, _fast, _cur, _errors
    _lock = _thread.allocate_lock()
    _lock_owner = None
    del _buf[:]  # the parent's lines
    _pools = {}
    _worker_pool = {}
    _pool_counter = 0
    _fast = 0
    _cur = None
    _errors = 0
    if _sock is not None:
        try:
            _sock.close()  # the child's copy of the parent's connection
        except OSError:
            pass
        _sock = None
    if _active:
        _connect("fork")


def _at_exit():
    global _final
    if _active:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, _LineWriter):
                try:
                    stream._send_partial()
                except Exception:
                    pass
        _final = True
        _flush()


# ---------------------------------------------------------------------------------------------
# values and errors as JSON fields


def _repr(value):
    try:
        text = repr(value)
    except Exception as exc:
        text = "<repr failed: %s>" % type(exc).__name__
    if len(text) > _REPR_MAX:
        text = text[: _REPR_MAX - 1] + "\u2026"
    return _esc(text)


def _exc_fields(exc, tb=None):
    """``"et":…,"em":…[,"at":…,"tb":…]`` for an exception (``tb``: its formatted traceback)."""
    try:
        message = str(exc)
    except Exception:
        message = "<str failed>"
    fields = '"et":%s,"em":%s' % (_esc(type(exc).__name__), _esc(message[:2000]))
    if tb:
        if tb.startswith('\n"""\n') and tb.endswith('"""'):
            tb = tb[5:-3]
        tb = tb.rstrip("\n")
        at = _location(tb)
        if at:
            fields += ',"at":' + _esc(at)
        fields += ',"tb":' + _esc(tb[-8000:])
    return fields


def _location(tb):
    """``file.py:7 in f`` of the innermost frame of a formatted traceback."""
    key = '  File "'
    start = tb.rfind(key)
    if start < 0:
        return ""
    start += len(key)
    end = tb.find('"', start)
    rest_end = tb.find("\n", end)
    rest = tb[end + 1 : rest_end if rest_end >= 0 else len(tb)]  # , line 7, in f
    parts = rest.split(", ")
    line = parts[1][5:] if len(parts) > 1 and parts[1].startswith("line ") else "?"
    func = parts[2][3:] if len(parts) > 2 and parts[2].startswith("in ") else "?"
    return "%s:%s in %s" % (os.path.basename(tb[start:end]), line, func)


def _worker_exc(value):
    """(exception, formatted traceback) of what a worker put as an error."""
    tb = getattr(value, "tb", None)
    exc = getattr(value, "exc", None)
    if isinstance(tb, str) and isinstance(exc, BaseException):
        return exc, tb
    if isinstance(value, BaseException):
        import traceback

        try:
            text = "".join(traceback.format_exception(type(value), value, value.__traceback__))
        except Exception:
            text = None
        return value, text
    return value, None


# ---------------------------------------------------------------------------------------------
# output


class _LineWriter:
    """``sys.stdout``/``sys.stderr`` of a traced process: each line becomes an ``out`` line
    of this process (sent at once); a partial line is sent when the program flushes. Without
    a connection, writes go to the real stream."""

    def __init__(self, real, fd):
        self._real = real
        self._fd = fd
        self._part = []

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if not _active:
            return self._real.write(s)
        if "\n" not in s:
            if s:
                self._part.append(s)
            return len(s)
        t = _now()
        lines = s.split("\n")
        if self._part:
            lines[0] = "".join(self._part) + lines[0]
            self._part = []
        tail = lines.pop()
        if tail:
            self._part.append(tail)
        fd = self._fd
        for text in lines:
            _buf.append(_out_line(t, fd, text, False))
        _flush()
        return len(s)

    def writelines(self, lines):
        for s in lines:
            self.write(s)

    def flush(self):
        if self._part and _active:
            self._send_partial()
        return self._real.flush()

    def _send_partial(self):
        if self._part:
            text = "".join(self._part)
            self._part = []
            _emit_now(_out_line(_now(), self._fd, text, True))

    def _write_through_pending(self):
        if self._part:
            text = "".join(self._part)
            self._part = []
            try:
                self._real.write(text)
            except Exception:
                pass

    # the rest of the text stream, as the real one has it
    def fileno(self):
        return self._real.fileno()

    def isatty(self):
        return self._real.isatty()

    def readable(self):
        return self._real.readable()

    def writable(self):
        return self._real.writable()

    def seekable(self):
        return self._real.seekable()

    @property
    def closed(self):
        return self._real.closed

    @property
    def encoding(self):
        return self._real.encoding

    @property
    def errors(self):
        return self._real.errors

    @property
    def buffer(self):
        return self._real.buffer

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __repr__(self):
        return repr(self._real)


def _out_line(t, fd, text, partial):
    extra = ',"p":1' if partial else ""
    if len(text) > _OUT_MAX:
        extra += ',"cut":%d' % len(text)
        text = text[:_OUT_MAX]
    return '{"k":"out","t":%d,"fd":%d,"s":%s%s}\n' % (t, fd, _esc(_clean(text)), extra)


def _clean(text):
    """Text that encodes as UTF-8 (lone surrogates replaced)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


# ---------------------------------------------------------------------------------------------
# installing


def install():
    """Start tracing this process (idempotent). Called by ``sitecustomize``."""
    global _installed, _path, _NOSIGNAL
    if _installed:
        return
    _installed = True
    _path = os.environ.get("PROCVIZ_TRACE_SOCKET")
    if not _path:
        return
    import _socket

    _NOSIGNAL = getattr(_socket, "MSG_NOSIGNAL", 0)
    if not _connect("exec"):
        return
    import atexit

    atexit.register(_at_exit)  # registered first, so it runs last
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name, None)
        if stream is not None and not isinstance(stream, _LineWriter):
            setattr(sys, name, _LineWriter(stream, fd))
    finder = _PostImport(_PATCHES)
    sys.meta_path.insert(0, finder)
    for name in list(_PATCHES):
        module = sys.modules.get(name)
        if module is not None:
            finder.patch(name, module)


_NOSIGNAL = 0


class _PostImport:
    """A ``sys.meta_path`` finder that patches a module right after it first executes."""

    def __init__(self, patches):
        self._patches = patches
        self._busy = set()
        self._done = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self._patches or name in self._busy or name in self._done:
            return None
        self._busy.add(name)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is not None:
                    spec = find(name, path, target)
                    if spec is not None:
                        break
        finally:
            self._busy.discard(name)
        if spec is None:
            return None
        loader = spec.loader
        if loader is None or isinstance(loader, type) or not hasattr(loader, "__dict__"):
            return spec  # a shared loader (frozen, built-in): not wrapped
        exec_module = loader.exec_module
        finder = self

        def exec_and_patch(module):
            exec_module(module)
            finder.patch(name, module)

        loader.exec_module = exec_and_patch
        return spec

    def patch(self, name, module):
        if name in self._done:
            return
        self._done.add(name)
        try:
            self._patches[name](module)
        except Exception:
            _error("patch " + name)

    def invalidate_caches(self):
        pass


def _data_property(name, on_set=None, on_get=None):
    """A property that keeps the value in the instance ``__dict__`` under its own name (so
    pickling and untraced code see a plain attribute) and calls hooks on set/get."""

    def get(self):
        try:
            value = self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None
        if on_get is not None and _active:
            on_get(self, value)
        return value

    def set_(self, value):
        d = self.__dict__
        old = d.get(name)
        d[name] = value
        if on_set is not None and _active:
            on_set(self, old, value)

    def delete(self):
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    return property(get, set_, delete)


# ---------------------------------------------------------------------------------------------
# threads


def _patch_threading(threading):
    orig = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        if _active:
            try:
                _emit_now(
                    '{"k":"th_start","t":%d,"tid":%d,"name":%s,"daemon":%d}\n'
                    % (_now(), _thread.get_native_id(), _esc(str(self.name)), bool(self.daemon))
                )
            except Exception:
                _error("th_start")
        try:
            orig(self)
        finally:
            if _active:
                try:
                    _emit_now('{"k":"th_end","t":%d,"tid":%d}\n' % (_now(), _thread.get_native_id()))
                except Exception:
                    _error("th_end")

    threading.Thread._bootstrap_inner = _bootstrap_inner


# ---------------------------------------------------------------------------------------------
# processes (multiprocessing.process, popen_fork)


def _patch_process(process):
    base = process.BaseProcess
    orig_cleanup = process._cleanup

    def _cleanup():
        orig_cleanup()
        _tl.t0 = _now()  # start() calls this just before it forks or spawns

    process._cleanup = _cleanup
    base._popen = _data_property("_popen", on_set=_popen_set)
    orig_bootstrap = base._bootstrap

    def _bootstrap(self, *args, **kwargs):
        if _active:
            try:
                _child_started(self)
            except Exception:
                _error("start")
        code = orig_bootstrap(self, *args, **kwargs)
        if _active:
            try:
                _emit_now('{"k":"exit","t":%d,"code":%d}\n' % (_now(), code))
            except Exception:
                _error("exit")
        return code

    base._bootstrap = _bootstrap


def _popen_set(proc, old, popen):
    """``BaseProcess.start`` assigned ``self._popen``: the child exists (the parent's view)."""
    if popen is None or old is not None:
        return
    try:
        t0 = getattr(_tl, "t0", None) or _now()
        _tl.t0 = None
        pid = popen.pid
        d = proc.__dict__
        target = d.get("_target")
        args = d.get("_args") or ()
        extra = ""
        pool = _pool_of_worker(target, args, t0)
        if pool is not None:
            _worker_pool[pid] = pool.number
            extra = ',"pool":%d' % pool.number
            if pool.dead:
                extra += ',"replaces":%d' % pool.dead.pop(0)
        _emit_now(
            '{"k":"spawn","t":%d,"pid":%d,"name":%s,"method":%s,"daemon":%d%s}\n'
            % (
                t0,
                pid,
                _esc(str(proc.name)),
                _esc(str(getattr(popen, "method", "") or "")),
                bool(proc.daemon),
                extra,
            )
        )
    except Exception:
        _error("spawn")


def _child_started(proc):
    """First thing in a multiprocessing child (``_bootstrap``)."""
    target = proc.__dict__.get("_target")
    args = proc.__dict__.get("_args") or ()
    role = "process"
    pool_mod = sys.modules.get("multiprocessing.pool")
    cf_mod = sys.modules.get("concurrent.futures.process")
    if pool_mod is not None and target is pool_mod.worker and len(args) >= 2:
        role = "pool_worker"
        _hook_pool_worker(args[0], args[1], pool_mod)
    elif cf_mod is not None and target is cf_mod._process_worker and len(args) >= 2:
        role = "executor_worker"
        _hook_executor_worker(args[0], args[1], cf_mod)
    method = getattr(type(proc), "_start_method", None)
    if method is None:
        try:
            from multiprocessing import context

            method = context._default_context.get_start_method(allow_none=True)
        except Exception:
            method = None
    try:
        cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    except Exception:
        cpus = ""
    _emit_now(
        '{"k":"start","t":%d,"name":%s,"role":"%s","parent":%d,"method":%s,"daemon":%d,"cpus":[%s]}\n'
        % (
            _now(),
            _esc(str(proc.name)),
            role,
            proc._parent_pid or 0,
            _esc(method or ""),
            bool(proc.daemon),
            cpus,
        )
    )


def _patch_popen_fork(popen_fork):
    popen_fork.Popen.returncode = _data_property("returncode", on_set=_returncode_set)


def _returncode_set(popen, old, code):
    """The parent reaped a child (``Popen.poll``): its exit code, negative for a signal."""
    if old is not None or code is None:
        return
    try:
        pid = popen.pid
        number = _worker_pool.pop(pid, None)
        if number is not None and number in _pools:
            _pools[number].dead.append(pid)
        _emit_now('{"k":"reaped","t":%d,"pid":%d,"code":%d}\n' % (_now(), pid, code))
    except Exception:
        _error("reaped")


def _patch_helper(role):
    def patch(module):
        orig = module.main

        def main(*args, **kwargs):
            if _active:
                try:
                    _emit_now(
                        '{"k":"start","t":%d,"name":"%s","role":"%s","parent":%d,"method":"","daemon":1,"cpus":[]}\n'
                        % (_now(), role, role, os.getppid())
                    )
                except Exception:
                    _error("start " + role)
            return orig(*args, **kwargs)

        module.main = main

    return patch


# ---------------------------------------------------------------------------------------------
# pools: registry (parent side)


class _Pool:
    __slots__ = ("number", "dead")

    def __init__(self, number):
        self.number = number
        self.dead = []  # pids of workers reaped and not yet replaced


def _new_pool(kind, size, maxtasks, method, t):
    global _pool_counter
    _pool_counter += 1
    pool = _Pool(_pool_counter)
    _pools[pool.number] = pool
    extra = ',"maxtasks":%d' % maxtasks if isinstance(maxtasks, int) else ""
    _emit_now(
        '{"k":"pool","t":%d,"pool":%d,"kind":"%s","size":%d,"method":%s%s}\n'
        % (t, pool.number, kind, size or 0, _esc(method or ""), extra)
    )
    return pool


def _pool_of_worker(target, args, t):
    """The pool (registered now if new) a process being started works for, or None."""
    if not args:
        return None
    pool_mod = sys.modules.get("multiprocessing.pool")
    if pool_mod is not None and target is pool_mod.worker:
        queue = args[0]
        number = getattr(queue, "_procviz_pool", None)
        if number is None:
            size = maxtasks = None
            method = ""
            frame = _getframe(1)
            code = pool_mod.Pool._repopulate_pool_static.__code__
            for _ in range(8):
                if frame is None:
                    break
                if frame.f_code is code:
                    local = frame.f_locals
                    size = local.get("processes")
                    maxtasks = local.get("maxtasksperchild")
                    ctx = local.get("ctx")
                    try:
                        method = ctx.get_start_method()
                    except Exception:
                        pass
                    break
                frame = frame.f_back
            pool = _new_pool("pool", size, maxtasks, method, t)
            queue._procviz_pool = pool.number
            return pool
        return _pools.get(number)
    cf_mod = sys.modules.get("concurrent.futures.process")
    if cf_mod is not None and target is cf_mod._process_worker:
        queue = args[0]
        number = getattr(queue, "_procviz_pool", None)
        if number is None:
            frame = _getframe(1)
            for _ in range(8):
                if frame is None:
                    break
                executor = frame.f_locals.get("self")
                if isinstance(executor, cf_mod.ProcessPoolExecutor):
                    return _executor_pool(executor, t)
                frame = frame.f_back
            return None
        return _pools.get(number)
    return None


def _pool_number(pool):
    """The number of a (process) ``multiprocessing.pool.Pool``; None for a ThreadPool."""
    try:
        return getattr(pool._inqueue, "_procviz_pool", None)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# pools: the caller (multiprocessing.pool)


def _patch_pool(pool_mod):
    apply_result = pool_mod.ApplyResult
    map_result = pool_mod.MapResult
    imap_iter = pool_mod.IMapIterator
    unordered = pool_mod.IMapUnorderedIterator
    get_code = apply_result.get.__code__
    pool_cls = pool_mod.Pool

    # a job: apply_async/apply
    orig_apply_init = apply_result.__init__

    def apply_init(self, *args, **kwargs):
        orig_apply_init(self, *args, **kwargs)
        if _active and type(self) is apply_result:
            try:
                _job_created(self, "apply" if _caller_name(2) == "apply" else "apply_async", 1, 1)
            except Exception:
                _error("job apply")

    apply_result.__init__ = apply_init

    # a job: map/starmap/map_async/starmap_async
    orig_map_init = map_result.__init__

    def map_init(self, *args, **kwargs):
        orig_map_init(self, *args, **kwargs)
        if _active:
            try:
                value = self.__dict__.get("_value")
                n = len(value) if isinstance(value, list) else None
                api = _caller_name(2) or "map"
                _job_created(self, api, self._chunksize, n)
            except Exception:
                _error("job map")

    map_result.__init__ = map_init

    # what the caller gets: get() reads _value
    def value_read(self, value):
        d = self.__dict__
        if "_pv" in d and "_pv_got" not in d and _getframe(2).f_code is get_code:
            d["_pv_got"] = True
            try:
                _result_got(self, value, d.get("_success", False), False)
            except Exception:
                _error("got")

    apply_result._value = _data_property("_value", on_get=value_read)

    # a job: imap/imap_unordered
    orig_imap_init = imap_iter.__init__

    def imap_init(self, *args, **kwargs):
        orig_imap_init(self, *args, **kwargs)
        if _active:
            try:
                _imap_created(self, unordered)
            except Exception:
                _error("job imap")

    imap_iter.__init__ = imap_init

    orig_unordered_set = unordered._set

    def unordered_set(self, i, obj):
        items = self.__dict__.get("_items")
        if type(items) is _Items:
            items.order.append(i)
        return orig_unordered_set(self, i, obj)

    unordered._set = unordered_set

    orig_set_length = imap_iter._set_length

    def set_length(self, length):
        orig_set_length(self, length)
        items = self.__dict__.get("_items")
        if _active and type(items) is _Items and items.n is None:
            try:
                if items.cs == 1:
                    items.n = length
                    field = '"n":%d' % length
                else:
                    field = '"chunks":%d' % length
                _emit(
                    '{"k":"jobn","t":%d,"pool":%d,"job":%d,%s}\n' % (_now(), items.pool, items.job, field),
                    _now(),
                )
            except Exception:
                _error("jobn")

    imap_iter._set_length = set_length

    # the result thread: send what callbacks produced before it waits
    orig_setup_queues = pool_cls._setup_queues

    def setup_queues(self):
        orig_setup_queues(self)
        if _active and not isinstance(self, pool_mod.ThreadPool):
            try:
                self._quick_get = _idle_flush_get(self._quick_get, self._outqueue._reader)
            except Exception:
                _error("result thread")

    pool_cls._setup_queues = setup_queues

    for name, kind in (("close", "close"), ("terminate", "terminate")):
        _wrap_pool_end(pool_cls, name, kind)

    # chunksize of imap comes from its frame; remember mapstar for the worker side
    global _MAPSTAR, _STARMAPSTAR, _RERAISE
    _MAPSTAR = pool_mod.mapstar
    _STARMAPSTAR = pool_mod.starmapstar
    _RERAISE = getattr(pool_mod, "_helper_reraises_exception", None)


_MAPSTAR = _STARMAPSTAR = _RERAISE = None


def _caller_name(depth):
    """Name of the function ``depth`` frames above the hook's caller."""
    try:
        return _getframe(depth + 1).f_code.co_name
    except ValueError:
        return None


def _wrap_pool_end(pool_cls, name, kind):
    orig = getattr(pool_cls, name)

    def end(self, *args, **kwargs):
        if _active:
            try:
                number = _pool_number(self)
                if number is not None and not self.__dict__.get("_pv_" + kind):
                    self.__dict__["_pv_" + kind] = True
                    _emit_now('{"k":"%s","t":%d,"pool":%d}\n' % (kind, _now(), number))
            except Exception:
                _error(kind)
        return orig(self, *args, **kwargs)

    end.__name__ = name
    end.__qualname__ = orig.__qualname__
    end.__doc__ = orig.__doc__
    setattr(pool_cls, name, end)


def _idle_flush_get(get, reader):
    """The result thread's ``get``: send pending lines before it waits for a result."""
    import select

    poller = select.poll()
    poller.register(reader.fileno(), select.POLLIN)

    def quick_get():
        if _buf and not poller.poll(0):
            _flush()
        return get()

    return quick_get


def _job_created(result, api, chunksize, n):
    number = _pool_number(result._pool)
    if number is None:
        return  # a ThreadPool
    d = result.__dict__
    d["_pv"] = (number, result._job, api, chunksize, n)
    t = _now()
    extra = ',"n":%d' % n if n is not None else ""
    _emit_now(
        '{"k":"job","t":%d,"pool":%d,"job":%d,"api":"%s","cs":%d%s}\n'
        % (t, number, result._job, api, chunksize or 0, extra)
    )
    for attr, ok in (("_callback", True), ("_error_callback", False)):
        callback = d.get(attr)
        if callback is not None:
            d[attr] = _callback_wrapper(result, callback, ok)


def _callback_wrapper(result, callback, ok):
    def callback_with_trace(value):
        if _active:
            d = result.__dict__
            if "_pv_got" not in d:
                d["_pv_got"] = True
                try:
                    _result_got(result, value, ok, True)
                except Exception:
                    _error("got callback")
        return callback(value)

    return callback_with_trace


def _result_got(result, value, ok, via_callback):
    """The caller got an ApplyResult/MapResult's value: from ``get()`` or a callback."""
    number, job, api, chunksize, n = result.__dict__["_pv"]
    t = _now()
    cb = ',"cb":1' if via_callback else ""
    head = '{"k":"got","t":%d,"pool":%d,"job":%d,"x":' % (t, number, job)
    if api in ("apply", "apply_async"):
        if ok:
            _buf.append('%s0,"ok":1,"r":%s%s}\n' % (head, _repr(value), cb))
        else:
            _buf.append('%s0,"ok":0,%s%s}\n' % (head, _exc_fields(value), cb))
    elif ok:
        for x, item in enumerate(value):
            _buf.append('%s%d,"ok":1,"r":%s%s}\n' % (head, x, _repr(item), cb))
    else:
        _buf.append(
            '{"k":"raised","t":%d,"pool":%d,"job":%d,%s,"lost":%d%s}\n'
            % (t, number, job, _exc_fields(value), n or 0, cb)
        )
    if via_callback:
        _tick(t)  # the rest is sent when the result thread goes idle
    else:
        _flush()


def _imap_created(iterator, unordered_cls):
    number = _pool_number(iterator._pool)
    if number is None:
        return
    frame = _getframe(2)  # _imap_created <- imap_init <- imap()
    local = frame.f_locals
    chunksize = local.get("chunksize", 1) or 1
    n = None
    iterable = local.get("iterable")
    if isinstance(iterable, (list, tuple, range)):
        n = len(iterable)
    api = "imap_unordered" if isinstance(iterator, unordered_cls) else "imap"
    items = _Items()
    items.pool = number
    items.job = iterator._job
    items.cs = chunksize
    items.n = n
    items.got = 0
    items.order = _deque() if api == "imap_unordered" else None
    items.appended = 0
    for obj in iterator._items:  # (none yet: tasks are queued after this)
        items.append(obj)
    iterator._items = items
    extra = ',"n":%d' % n if n is not None else ""
    _emit_now(
        '{"k":"job","t":%d,"pool":%d,"job":%d,"api":"%s","cs":%d%s}\n'
        % (_now(), number, iterator._job, api, chunksize, extra)
    )


from collections import deque as _deque  # noqa: E402  (C type; cheap, always imported)


_deque_append = _deque.append


class _Result:
    """One entry of ``IMapIterator._items``: ``next()`` pops it (the deque's own C
    ``popleft``) and unpacks it (``success, value = item``), and unpacking calls
    ``__iter__``: the moment the caller gets the result, seen with no procviz frame on any
    path an exception can take out of ``next()``."""

    __slots__ = ("items", "i", "obj")

    def __init__(self, items, i, obj):
        self.items = items
        self.i = i
        self.obj = obj

    def __iter__(self):
        obj = self.obj
        if _active:
            try:
                items = self.items
                if items.cs == 1 and obj[0]:  # the common case: imap, a value
                    t = _now()
                    items.got += 1
                    value = obj[1]
                    r = '"%d"' % value if type(value) is int else _repr(value)
                    _buf.append(
                        '{"k":"got","t":%d,"pool":%d,"job":%d,"x":%d,"ok":1,"r":%s}\n'
                        % (t, items.pool, items.job, self.i, r)
                    )
                    if not items or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
                        _flush()
                else:
                    items.consumed(self.i, obj)
            except Exception:
                _error("got imap")
        return iter(obj)


class _Items(_deque):
    """``IMapIterator._items``: the pool's result thread appends each ``(success, value)``
    here (``_set``); it is kept as a :class:`_Result` that knows its task number."""

    __slots__ = ("pool", "job", "cs", "n", "got", "order", "appended")

    def append(self, obj):
        order = self.order
        if order is not None:  # imap_unordered: the number _set was called with
            i = order.popleft()
        else:  # imap: _set appends in task order
            i = self.appended
            self.appended = i + 1
        _deque_append(self, _Result(self, i, obj))

    def consumed(self, i, obj):
        t = _now()
        success, value = obj
        cs = self.cs
        if cs == 1:
            self.got += 1
            if not success:
                line = '{"k":"got","t":%d,"pool":%d,"job":%d,"x":%d,"ok":0,%s}\n' % (
                    t, self.pool, self.job, i, _exc_fields(value)
                )
            else:
                r = '"%d"' % value if type(value) is int else _repr(value)
                line = '{"k":"got","t":%d,"pool":%d,"job":%d,"x":%d,"ok":1,"r":%s}\n' % (
                    t, self.pool, self.job, i, r
                )
            _buf.append(line)
        elif success:  # a chunk: the caller's generator hands out its items from now on
            head = '{"k":"got","t":%d,"pool":%d,"job":%d,"x":' % (t, self.pool, self.job)
            first = i * cs
            for c, v in enumerate(value):
                _buf.append('%s%d,"ok":1,"r":%s}\n' % (head, first + c, _repr(v)))
            self.got += len(value)
        else:  # a failed chunk ends a chunked imap
            lost = (self.n - self.got) if self.n is not None else -1
            _emit_now(
                '{"k":"raised","t":%d,"pool":%d,"job":%d,%s,"lost":%d}\n'
                % (t, self.pool, self.job, _exc_fields(value), lost)
            )
            return
        # nothing left to pop: the caller will wait for the next result, so send now
        if not self or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
            _flush()


# ---------------------------------------------------------------------------------------------
# pools: the worker side (multiprocessing.pool worker, concurrent.futures worker)


class _Feed:
    """Stands in for a chunk's tuple: ``map``/``starmap``/a list comprehension pulls each
    item from here, which is the moment the previous item ended and this one starts."""

    __slots__ = ("items", "n", "pos", "job", "i", "ends")

    def __init__(self, items, job, i):
        self.items = items
        self.n = len(items)
        self.pos = 0
        self.job = job
        self.i = i
        self.ends = []

    def __iter__(self):
        return self

    def __next__(self):
        pos = self.pos
        if pos:
            self.ends.append(_now())
        if pos >= self.n:
            raise StopIteration
        self.pos = pos + 1
        if _active:
            try:
                cn = ',"cn":%d' % self.n if pos == 0 else ""
                _task_line('"job":%d,"i":%d,"c":%d%s' % (self.job, self.i, pos, cn))
            except Exception:
                _error("ts chunk")
        return self.items[pos]

    def __len__(self):
        return self.n


def _task_line(fields):
    """A task (or chunk item) starts now."""
    t = _now()
    _buf.append('{"k":"ts","t":%d,%s}\n' % (t, fields))
    if _fast < _STREAK or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
        _flush()
    return t


def _task_done(t_start, t_end):
    global _fast
    if t_end - t_start < _SHORT_TASK_NS:
        _fast += 1
    else:
        _fast = 0


def _finish(job, i, feed, t0, success, value, t):
    """Task lines for what a worker put: one, or one per chunk item."""
    if feed is None:
        if success:
            _buf.append('{"k":"te","t":%d,"job":%d,"i":%d,"ok":1,"r":%s}\n' % (t, job, i, _repr(value)))
        else:
            exc, tb = _worker_exc(value)
            _buf.append('{"k":"te","t":%d,"job":%d,"i":%d,"ok":0,%s}\n' % (t, job, i, _exc_fields(exc, tb)))
        _task_done(t0, t)
        return
    ends = feed.ends
    if success and isinstance(value, list):
        start = t0
        for c, v in enumerate(value):
            end = ends[c] if c < len(ends) else t
            _buf.append(
                '{"k":"te","t":%d,"job":%d,"i":%d,"c":%d,"ok":1,"r":%s}\n' % (end, job, i, c, _repr(v))
            )
            _task_done(start, end)
            start = end
        return
    failed = max(feed.pos - 1, 0)
    for c in range(failed):
        end = ends[c] if c < len(ends) else t
        _buf.append('{"k":"te","t":%d,"job":%d,"i":%d,"c":%d,"ok":1}\n' % (end, job, i, c))
    exc, tb = _worker_exc(value)
    _buf.append(
        '{"k":"te","t":%d,"job":%d,"i":%d,"c":%d,"ok":0,%s}\n' % (t, job, i, failed, _exc_fields(exc, tb))
    )
    _task_done(t0, t)


def _hook_pool_worker(inqueue, outqueue, pool_mod):
    """Replace the worker's queue ``get``/``put`` (on these objects, in this process)."""
    import select
    from multiprocessing import queues

    orig_get = inqueue.get
    orig_put = outqueue.put
    rlock = getattr(inqueue, "_rlock", None)
    reader = getattr(inqueue, "_reader", None)
    exact = (
        type(inqueue).get is queues.SimpleQueue.get and rlock is not None and reader is not None
    )
    if exact:
        poller = select.poll()
        poller.register(reader.fileno(), select.POLLIN)
        recv = reader.recv_bytes
        loads = queues._ForkingPickler.loads

    def get_task():
        if not _buf:
            return orig_get()
        if not exact or not rlock.acquire(False):
            _flush()
            return orig_get()
        try:
            if not (
                _fast >= _STREAK
                and len(_buf) < _MAX_LINES
                and _now() - _last < _MAX_DELAY_NS
                and poller.poll(0)
            ):
                _flush()
            res = recv()
        finally:
            rlock.release()
        return loads(res)

    def get():
        global _cur
        task = get_task()
        if task is not None and _active:
            try:
                job, i, func, args, kwds = task
                if func is _MAPSTAR or func is _STARMAPSTAR:
                    f, chunk = args[0]
                    feed = _Feed(chunk, job, i)
                    _cur = (job, i, feed, _now())
                    task = (job, i, func, ((f, feed),), kwds)
                elif func is _RERAISE:
                    _cur = None
                else:
                    t = _now()
                    _buf.append('{"k":"ts","t":%d,"job":%d,"i":%d}\n' % (t, job, i))
                    if _fast < _STREAK or len(_buf) >= _MAX_LINES or t - _last >= _MAX_DELAY_NS:
                        _flush()
                    _cur = (job, i, None, t)
            except Exception:
                _error("ts")
        return task

    def put(obj):
        # the task's lines go out before its result: once the parent has the result it may
        # terminate() this worker at once
        global _cur, _fast
        cur = _cur
        if cur is not None and _active:
            _cur = None
            try:
                job, i, (success, value) = obj
                t = _now()
                if success and cur[2] is None:
                    r = '"%d"' % value if type(value) is int else _repr(value)
                    _buf.append('{"k":"te","t":%d,"job":%d,"i":%d,"ok":1,"r":%s}\n' % (t, job, i, r))
                    _fast = _fast + 1 if t - cur[3] < _SHORT_TASK_NS else 0
                else:
                    _finish(job, i, cur[2], cur[3], success, value, t)
                if not (
                    exact
                    and _fast >= _STREAK
                    and len(_buf) < _MAX_LINES
                    and t - _last < _MAX_DELAY_NS
                    and poller.poll(0)
                ):
                    _flush()
            except Exception:
                _error("te")
        try:
            orig_put(obj)
        except Exception:
            _cur = cur  # not picklable: the worker puts an error next; its te replaces this one
            raise

    inqueue.get = get
    outqueue.put = put


def _hook_executor_worker(call_queue, result_queue, cf_mod):
    import select
    from functools import partial

    orig_get = call_queue.get
    orig_put = result_queue.put
    chunk_fn = cf_mod._process_chunk
    poller = None
    reader = getattr(call_queue, "_reader", None)
    if reader is not None:
        poller = select.poll()
        poller.register(reader.fileno(), select.POLLIN)

    def get(*args, **kwargs):
        global _cur
        if _buf and not (_hold() and poller is not None and poller.poll(0)):
            _flush()
        item = orig_get(*args, **kwargs)
        if item is not None and _active:
            try:
                job = item.work_id
                fn = item.fn
                if isinstance(fn, partial) and fn.func is chunk_fn and len(item.args) == 1:
                    feed = _Feed(tuple(item.args[0]), job, 0)
                    item.args = (feed,)
                    _cur = (job, 0, feed, _now())
                else:
                    _cur = (job, 0, None, _task_line('"job":%d,"i":0' % job))
            except Exception:
                _error("ts executor")
        return item

    def put(obj, *args, **kwargs):
        global _cur
        cur = _cur
        if cur is not None and _active and hasattr(obj, "work_id"):
            _cur = None
            try:
                t = _now()
                exc = obj.exception
                if exc is not None:
                    _finish(cur[0], 0, cur[2], cur[3], False, exc, t)
                else:
                    _finish(cur[0], 0, cur[2], cur[3], True, obj.result, t)
                if not (_hold() and poller is not None and poller.poll(0)):
                    _flush()
            except Exception:
                _error("te executor")
        try:
            orig_put(obj, *args, **kwargs)
        except BaseException:
            _cur = cur  # not picklable: an error is put next; its te replaces this one
            raise

    call_queue.get = get
    result_queue.put = put


# ---------------------------------------------------------------------------------------------
# concurrent.futures.ProcessPoolExecutor (parent side)


def _executor_pool(executor, t=None):
    queue = executor._call_queue
    number = getattr(queue, "_procviz_pool", None)
    if number is not None:
        return _pools.get(number)
    try:
        method = executor._mp_context.get_start_method()
    except Exception:
        method = ""
    pool = _new_pool(
        "executor",
        executor._max_workers,
        getattr(executor, "_max_tasks_per_child", None),
        method,
        t or _now(),
    )
    queue._procviz_pool = pool.number
    return pool


def _patch_executor(cf_mod):
    from concurrent.futures import _base
    from functools import partial

    future_cls = _base.Future
    get_result = future_cls._Future__get_result.__code__
    chunk_fn = cf_mod._process_chunk

    def exception_read(future, exc):
        d = future.__dict__
        if "_pv_got" not in d and "_pv" in d and _getframe(2).f_code is get_result:
            d["_pv_got"] = True
            try:
                _future_got(future, exc)
            except Exception:
                _error("got future")

    traced = type(
        "Future",
        (future_cls,),
        {
            "_exception": _data_property("_exception", on_get=exception_read),
            "__module__": future_cls.__module__,
            "__qualname__": future_cls.__qualname__,
        },
    )

    orig_item_init = cf_mod._WorkItem.__init__

    def work_item_init(self, future, fn, args, kwargs):
        orig_item_init(self, future, fn, args, kwargs)
        if not _active:
            return
        try:
            executor = _getframe(1).f_locals.get("self")
            if not isinstance(executor, cf_mod.ProcessPoolExecutor):
                return
            pool = _executor_pool(executor)
            work_id = executor._queue_count
            chunk = None
            if isinstance(fn, partial) and fn.func is chunk_fn and len(args) == 1:
                try:
                    chunk = len(args[0])
                except TypeError:
                    chunk = None
            n = chunk if chunk is not None else 1
            future.__dict__["_pv"] = (pool.number, work_id, chunk)
            future.__class__ = traced
            _emit_now(
                '{"k":"job","t":%d,"pool":%d,"job":%d,"api":"%s","cs":%d,"n":%d}\n'
                % (_now(), pool.number, work_id, "map" if chunk is not None else "submit", n, n)
            )
        except Exception:
            _error("job executor")

    cf_mod._WorkItem.__init__ = work_item_init

    orig_shutdown = cf_mod.ProcessPoolExecutor.shutdown

    def shutdown(self, *args, **kwargs):
        if _active:
            try:
                number = getattr(self._call_queue, "_procviz_pool", None)
                if number is not None and not self.__dict__.get("_pv_close"):
                    self.__dict__["_pv_close"] = True
                    _emit_now('{"k":"close","t":%d,"pool":%d}\n' % (_now(), number))
            except Exception:
                _error("close executor")
        return orig_shutdown(self, *args, **kwargs)

    shutdown.__doc__ = orig_shutdown.__doc__
    cf_mod.ProcessPoolExecutor.shutdown = shutdown


def _future_got(future, exc):
    number, work_id, chunk = future.__dict__["_pv"]
    t = _now()
    head = '{"k":"got","t":%d,"pool":%d,"job":%d,"x":' % (t, number, work_id)
    if exc is not None:
        _buf.append('%s0,"ok":0,%s}\n' % (head, _exc_fields(exc)))
    else:
        value = future.__dict__.get("_result")
        if chunk is not None and isinstance(value, list):
            for c, v in enumerate(value):
                _buf.append('%s%d,"ok":1,"r":%s}\n' % (head, c, _repr(v)))
        else:
            _buf.append('%s0,"ok":1,"r":%s}\n' % (head, _repr(value)))
    _flush()


_PATCHES = {
    "threading": _patch_threading,
    "multiprocessing.process": _patch_process,
    "multiprocessing.popen_fork": _patch_popen_fork,
    "multiprocessing.pool": _patch_pool,
    "multiprocessing.forkserver": _patch_helper("forkserver"),
    "multiprocessing.resource_tracker": _patch_helper("resource_tracker"),
    "concurrent.futures.process": _patch_executor,
}
