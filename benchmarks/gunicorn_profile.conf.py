"""gunicorn.conf.py plus a pyinstrument profile of each worker, written when the worker exits.

Used by the benchmarks' --profile switch: BENCH_PROFILE=<path prefix>.
"""
import os
from pathlib import Path

exec(Path(__file__).resolve().parent.parent.joinpath("gunicorn.conf.py").read_text())  # noqa: S102

_base_post_fork = post_fork  # noqa: F821 - defined by the exec above


def post_fork(server, worker):  # noqa: F811
    """The base hook, then start sampling the worker (every greenlet runs on its main thread)."""
    _base_post_fork(server, worker)
    from pyinstrument import Profiler

    worker._hx_profiler = Profiler(interval=0.001, async_mode="disabled")
    worker._hx_profiler.start()


def worker_exit(server, worker):
    """Write the worker's profile as text."""
    profiler = getattr(worker, "_hx_profiler", None)
    if profiler is not None:
        profiler.stop()
        path = f"{os.environ['BENCH_PROFILE']}-{os.getpid()}.txt"
        Path(path).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
