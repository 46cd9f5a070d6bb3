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
    """Import Keras on its backend (KERAS_BACKEND: tensorflow by default, or jax) with thread
    pools sized to the available cores."""
    cores = cap_threads()
    backend = os.environ["KERAS_BACKEND"]
    if backend == "jax":
        return _import_keras_on_jax()
    if backend != "tensorflow":
        from .exceptions import ConfigError

        raise ConfigError(
            f"KERAS_BACKEND must be 'tensorflow' or 'jax' for the pyramid network, got "
            f"{backend!r}; fix: unset it, or set it to one of those"
        )
    # A fold worker (search/fold_pool.py) trains on its share of the cores, not on all of them.
    threads = int(os.environ.get(THREADS_ENV) or cores)
    try:
        with _quiet_native_stderr():
            import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _missing("TensorFlow", "tensorflow-cpu (or tensorflow on a GPU machine)") from exc
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


def _import_keras_on_jax():
    # Each fold worker is its own process on the one GPU: JAX's default of taking 75 % of the
    # GPU's memory in the first process would leave none for the others.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    # Compiling a trial's epoch is most of a small network's time on a GPU, and XLA's GEMM
    # autotuning most of that: on an H200, bench-nn jh-simple's first two configurations took
    # 26.4 and 32.5 s with it (compile 11.3 and 14.1 s), 15.5 and 22.5 s without (5.3, 8.7).
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_autotune_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_autotune_level=0".strip()
    try:
        import jax  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _missing("JAX", 'jax (or "jax[cuda12]" on a GPU machine)') from exc
    import keras

    return keras


def _missing(library: str, package: str):
    from .exceptions import ConfigError

    return ConfigError(
        f"the pyramid network needs {library}, which is not installed; fix: pip install {package}"
    )
