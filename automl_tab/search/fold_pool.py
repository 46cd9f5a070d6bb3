"""The folds of a trial trained side by side, one warm worker process per core.

A dense network on a small fold uses two cores poorly: each mini-batch step is a chain of
small operations that one thread runs almost as fast as two (measured on this 2-core CPU: a
445x377 product of 32 rows runs at 14.7 GFLOP/s on one thread and 14.8 on two). Two
single-threaded processes, one fold each, ran bench-nn's six jh-simple configurations in 80 s
where one two-threaded process took 131 s, at the same results per fold. The workers are
joblib's reusable loky processes: TensorFlow is imported once per worker, not per trial.

Each fold is seeded on its own and trained in one thread, so which worker runs it, and when,
does not change its result: the same seed gives the same trial.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading

from .._compat import THREADS_ENV
from .._compat import available_cores
from ..exceptions import TrialFailed

WORKERS_ENV = "AUTOML_TAB_FOLD_WORKERS"

# Resident memory of each fold worker (by pid) after its last fold, for the benchmarks.
worker_rss_mb: dict[int, float] = {}


def fold_workers(n_folds: int) -> int:
    """Processes for `n_folds` folds: one per core, at most one per fold, capped by the
    AUTOML_TAB_FOLD_WORKERS environment variable (1 trains every fold in this process, which
    is what a GPU wants)."""
    limit = os.environ.get(WORKERS_ENV, "").strip()
    cap = int(limit) if limit.isdigit() and int(limit) > 0 else available_cores()
    return max(1, min(n_folds, available_cores(), cap))


def run_folds(func, tasks: list[tuple], workers: int) -> list:
    """`func(*task)` for every task, in `workers` processes; results in task order.

    An exception in a fold (TrialFailed included) is raised here as it was raised there; a
    worker that died (killed for memory, say) fails the trial rather than the run.
    """
    from joblib import Parallel
    from joblib import delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    threads = max(1, available_cores() // workers)
    try:
        results = Parallel(n_jobs=workers, backend="loky")(
            delayed(_in_worker)(func, task, threads) for task in tasks
        )
    except TerminatedWorkerError as exc:
        raise TrialFailed(f"a fold's worker process died ({exc.__class__.__name__})") from exc
    out = []
    for pid, rss, result in results:
        worker_rss_mb[pid] = rss
        out.append(result)
    return out


def warm_up(workers: int, setup=None) -> None:
    """Start the fold workers and run `setup` (importing the model's library, a few seconds)
    once in each, so that no fit's clock is charged for it."""
    if workers > 1:
        run_folds(_call, [(setup,)] * workers, workers)


def warm_up_in_background(workers: int, setup=None) -> threading.Thread:
    """`warm_up` on a thread, so that loading and preparing the data go on meanwhile (one
    core is idle while they run); join it before the first fit. A failure there is ignored:
    the synchronous `warm_up` before the first fit raises it again."""

    def run() -> None:
        with contextlib.suppress(Exception):
            warm_up(workers, setup)

    thread = threading.Thread(target=run, name="fold-workers-warm-up", daemon=True)
    thread.start()
    return thread


def _call(setup) -> None:
    if setup is not None:
        setup()


def _in_worker(func, task, threads: int):
    # Ctrl-C reaches the whole process group; the parent handles it and stops the workers,
    # so a worker ignores it rather than print its own traceback.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[THREADS_ENV] = str(threads)  # read when this worker first imports TensorFlow
    try:
        result = func(*task)
    finally:
        _release_freed_memory()
    return os.getpid(), current_rss_mb(), result


def _release_freed_memory() -> None:
    """Give the heap pages freed by the fold back to the system (glibc keeps them otherwise).

    loky replaces a worker whose memory grew 300 MB past its size after the first task (it
    suspects a leak); the freed-but-kept buffers of a wide network did that every few
    trials, and each new worker paid TensorFlow's import and a cold trace again.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def live_workers_rss_mb() -> tuple[float, int]:
    """(resident memory of the fold workers alive now, workers gone so far): a worker that
    loky replaced (its leak check) or shut down (idle for 300 s) keeps its last figure in
    `worker_rss_mb`, and counting it as well doubled bench-nn's memory growth."""
    import psutil

    alive = {pid: rss for pid, rss in worker_rss_mb.items() if psutil.pid_exists(pid)}
    return sum(alive.values()), len(worker_rss_mb) - len(alive)


def current_rss_mb() -> float:
    """This process's resident memory now (Linux), else its peak."""
    import resource  # not on Windows; only the benchmarks ask

    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
