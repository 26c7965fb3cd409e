"""procviz: trace this Python process, then run the ``sitecustomize`` this file shadows.

procviz puts this directory first on ``PYTHONPATH``, so every Python process of a traced
run (the program, its ``multiprocessing`` children under fork, spawn and forkserver, the
forkserver and resource tracker themselves, any ``python3`` it starts) imports this file at
start-up. Nothing is installed into the user's Python and their code is not changed.

The tracer (``procviz_trace``) is installed only when ``PROCVIZ_TRACE_SOCKET`` is set and the
interpreter is CPython 3.8 or newer; anywhere else this file only chains to the next
``sitecustomize``. That is why this file keeps to syntax Python 2.7 can still parse.
"""

import os
import sys


def _procviz_install():
    if not os.environ.get("PROCVIZ_TRACE_SOCKET"):
        return
    impl = getattr(sys, "implementation", None)
    if impl is None or impl.name != "cpython" or sys.version_info < (3, 8):
        return
    try:
        import procviz_trace

        procviz_trace.install()
    except Exception as exc:  # never break the user's program; say why, once
        sys.stderr.write("procviz: tracer not installed: %r\n" % (exc,))


def _procviz_chain():
    """Run the ``sitecustomize`` that would have been imported without us.

    It is looked for on the ``sys.path`` entries after this directory, loaded under the name
    ``sitecustomize`` (so ``import sitecustomize`` gives it, as it would untraced), and its
    errors propagate to ``site``, which reports them exactly as it does untraced.
    """
    here = os.path.dirname(os.path.abspath(__file__))

    def is_here(entry):
        try:
            return os.path.samefile(entry or os.curdir, here)
        except OSError:
            return False

    entries = list(sys.path)
    mine = [i for i, entry in enumerate(entries) if is_here(entry)]
    rest = entries[mine[0] + 1:] if mine else entries
    rest = [entry for entry in rest if not is_here(entry)]
    if sys.version_info >= (3, 4):
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)
    else:
        import imp

        try:
            found = imp.find_module("sitecustomize", rest)
        except ImportError:
            return
        try:
            imp.load_module("sitecustomize", *found)
        finally:
            if found[0] is not None:
                found[0].close()


_procviz_install()
_procviz_chain()
