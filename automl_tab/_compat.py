"""The one place that imports heavy or optional libraries, with thread caps and install hints.

TensorFlow costs seconds to import, so nothing imports it at module level: `import automl_tab`
and `automl-tab --help` stay fast.
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

THREADS_ENV = "AUTOML_TAB_THREADS"


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def cap_threads() -> int:
    """Cap BLAS/OpenMP pools before numerical libraries start them; returns the core count."""
    cores = available_cores()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(cores))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return cores


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what native code writes to file descriptor 2: importing TensorFlow logs two
    absl notices per process (oneDNN is on) that TF_CPP_MIN_LOG_LEVEL does not stop, and
    every fold worker would print them. Python's exceptions still reach the caller."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@lru_cache(maxsize=1)
def import_keras():
    """Import Keras on TensorFlow with thread pools sized to the available cores."""
    cores = cap_threads()
    # A fold worker (search/fold_pool.py) trains on its share of the cores, not on all of them.
    threads = int(os.environ.get(THREADS_ENV) or cores)
    try:
        with _quiet_native_stderr():
            import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from .exceptions import ConfigError

        raise ConfigError(
            "the pyramid network needs TensorFlow, which is not installed; "
            "fix: pip install tensorflow-cpu (or tensorflow on a GPU machine)"
        ) from exc
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:  # already initialised by the caller; their settings win
        pass
    tf.get_logger().setLevel("ERROR")  # retracing notices are for developers, not users
    # Bitwise-repeatable kernels: the same seed gives the same trials and submission on the CPU.
    tf.config.experimental.enable_op_determinism()
    import keras

    return keras
