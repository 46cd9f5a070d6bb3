"""Ctrl-C that always stops the run.

Python turns SIGINT into KeyboardInterrupt wherever the main thread happens to be. Raised
inside a garbage-collector or weakref callback (TensorFlow and SQLAlchemy run many), it is
printed as "Exception ignored" and lost, and the run would train on (seen in CI). So the
handler also records the request, which the search loop checks between trials, and arms a
watchdog: if the process is still alive GRACE_SECONDS later, it runs the registered clean-ups
(mark the running trial failed) and exits with 130. A second Ctrl-C exits at once. Either
way the fold workers are killed first: they ignore SIGINT (the parent alone handles it) and
would otherwise train their fold to its end after the run has gone, holding a core and the
caller's output pipes (seen in CI: still open 60 s after the run had exited).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator

GRACE_SECONDS = 5.0
CLEANUP_ATTEMPTS = 4
EXIT_CODE = 130
MESSAGE = "interrupted: finished trials are kept in the workdir; rerun to go on"

_requested = threading.Event()
_cleanups: list[Callable[[], None]] = []
_exit_lock = threading.Lock()


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Handle SIGINT here while inside, unless it is ignored (a background job) or we are not
    the main thread; the previous handler comes back afterwards (tests run commands in-process)."""
    previous = signal.getsignal(signal.SIGINT)
    take_over = (
        threading.current_thread() is threading.main_thread()
        and previous is signal.default_int_handler
    )
    previous_hook = sys.unraisablehook
    if take_over:
        _requested.clear()
        signal.signal(signal.SIGINT, _on_sigint)
        sys.unraisablehook = functools.partial(_quiet_about_interrupts, previous_hook)
    try:
        yield
    finally:
        if take_over:
            signal.signal(signal.SIGINT, previous)
            sys.unraisablehook = previous_hook


def _quiet_about_interrupts(report, unraisable) -> None:
    """A swallowed KeyboardInterrupt is the watchdog's to handle: no "Exception ignored"
    traceback for the user. Anything else is reported as Python would."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    report(unraisable)


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first one was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def cleanup(func: Callable[[], None]) -> Iterator[None]:
    """Run `func` before a watchdog exit while inside this block."""
    _cleanups.append(func)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _cleanups.remove(func)


def exit_now() -> None:
    """Run the clean-ups, say how to go on and leave without waiting for library threads.

    Every file is written atomically, so nothing is half-written; exiting at once spares the
    user a wait on TensorFlow's and the store's threads at interpreter exit.
    """
    if not _exit_lock.acquire(blocking=False):
        time.sleep(3600)  # another thread is exiting: let it finish
    for func in list(_cleanups):
        for _ in range(CLEANUP_ATTEMPTS):  # the main thread may hold the store's lock a moment
            try:
                func()
                break
            except Exception:
                time.sleep(0.5)
    _kill_worker_processes()
    with contextlib.suppress(Exception):
        print(MESSAGE, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(EXIT_CODE)


def _kill_worker_processes() -> None:
    """Kill this process's children, the resource trackers aside: those remove the workers'
    shared-memory files once every worker is gone."""
    import psutil

    with contextlib.suppress(Exception):
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    child.kill()


def _on_sigint(signum, frame) -> None:
    if _requested.is_set():
        exit_now()
    _requested.set()
    threading.Thread(target=_watchdog, name="automl-tab-interrupt", daemon=True).start()
    raise KeyboardInterrupt


def _watchdog() -> None:
    time.sleep(GRACE_SECONDS)
    exit_now()
