"""The network on Keras' JAX backend (the GPU path): it learns, a kept graph trains exactly
as a new one at each fit's own learning rate, and a whole network search runs on it.

Keras picks its backend once per process, so each check runs in a child process with
KERAS_BACKEND=jax.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from helpers import ROOT

pytest.importorskip("jax")

FIT_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from automl_tab.models import PyramidNNModel, _keras_loop
    import keras

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    X_tr, y_tr, X_va, y_va = X[:600], y[:600], X[600:], y[600:]

    def fit(seed, **params):
        model = PyramidNNModel(
            **{**PyramidNNModel.default_params(), "members": 4, **params},
            task="binary", random_state=seed, max_epochs=40, patience=10,
        )
        return model.fit(X_tr, y_tr, X_va, y_va), model.predict(X_va)

    fit(0, max_layers=1)  # another shape: the next fit compiles a new graph
    model, cold = fit(1)
    graph = _keras_loop._current
    _, other = fit(2, learning_rate=0.03)  # same shape, another rate: trains the kept graph
    _, warm = fit(1)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "graph": type(graph).__name__,
        "kept": _keras_loop._current is graph,
        "same": bool(np.array_equal(cold, warm)),
        "other_differs": bool(not np.allclose(cold, other)),
        "accuracy": float(np.mean((cold[:, 1] > 0.5) == y_va)),
        "best_epoch": int(model.best_epoch_),
    }))
    """
)


def _run_on_jax(args, timeout=600):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_network_trains_on_jax_and_a_kept_graph_repeats_a_fit_exactly():
    done = _run_on_jax(["-c", FIT_SCRIPT])
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax" and result["graph"] == "JaxTrainingGraph"
    assert result["kept"] and result["same"] and result["other_differs"]
    # x0 + x1 * x2 > 0 is learnable: a linear model gets ~0.75, a network far more.
    assert result["accuracy"] > 0.85 and result["best_epoch"] > 1


@pytest.mark.slow
def test_a_network_search_runs_on_jax(tmp_path, binary_comp):
    done = _run_on_jax(
        ["-m", "automl_tab", "tune-nn", str(binary_comp), "--n-trials", "2",
         "--workdir", str(tmp_path / "work")],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "best" in done.stdout.lower()
