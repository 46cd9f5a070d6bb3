"""`automl-tab bench-nn`: the network stage against the course's training loop.

The same pyramid configurations run, on the same splits and the same preprocessed arrays,
through
(a) a faithful reimplementation of the course's `evaluate_network` (lesson 8.4): a Keras
    model trained with `fit` at its default batch size (32), `EarlyStopping(monitor=
    "val_loss", min_delta=1e-3, patience, restore_best_weights=True)`, scored with
    `model.predict` and the metric, `clear_session()` once per configuration; and
(b) automl-tab's Objective, exactly as the search calls it: its own training loop, batch
    floor (128, learning rate scaled with it), recipe (patience 10 + half the best epoch,
    Adam's beta_2 0.95, eight members, periodic embeddings of numbers, at most 200 weights
    a training row; see README's network recipe) and fold workers.
Both build the same pyramid (widths, PReLU, dropout, Adam, no L2) with the same epoch cap;
ours trains it as the search does, as eight members at once, with the periodic embeddings
in front (its widths sized on their wider input and narrowed where the capacity rule
asks). Preprocessing is done once, and the fold workers are started, before the clocks
start.
The figures: trials per minute of each loop, and the mean competition-metric loss over the
configurations, which says whether our faster loop costs quality.
"""

from __future__ import annotations

import gc
import json
import math
import resource
import time
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from .config import RunConfig
from .metrics import get_metric
from .models.pyramid_nn import MAX_LAYERS
from .models.pyramid_nn import PyramidNNModel
from .models.pyramid_nn import pyramid_widths
from .pipeline import build_objective
from .pipeline import training_data
from .schema import infer_schema
from .search.fold_pool import current_rss_mb
from .search.fold_pool import fold_workers
from .search.fold_pool import live_workers_rss_mb
from .search.fold_pool import warm_up
from .search.fold_pool import worker_rss_mb
from .splits import make_splits

COURSE_BATCH = 32  # Keras fit's default: the course never sets one
COURSE_SPLITS = 2
COURSE_TEST_SIZE = 0.1
COURSE_PATIENCE = 10
COURSE_EPOCHS = 500


@dataclass
class BenchNNResult:
    ref_seconds: list[float]
    ours_seconds: list[float]
    ref_losses: list[float]
    ours_losses: list[float]
    rss_mb: list[float]  # resident memory after each of our trials (this process + workers)
    workers_gone: int = 0  # fold workers loky replaced or shut down (a new one re-imports TF)
    # Per trial, the longest fold's tracing (its first epoch's time over its second).
    trace_seconds: list[float] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return sum(self.ref_seconds) / max(sum(self.ours_seconds), 1e-9)

    def summary_line(self) -> str:
        return (
            f"nn-throughput speedup={self.speedup:.2f} "
            f"loss_ref={np.mean(self.ref_losses):.5f} loss_ours={np.mean(self.ours_losses):.5f}"
        )

    def ours_line(self) -> str:
        """Our loop alone (also with --no-reference): time, tracing and loss per trial."""
        return (
            f"nn-ours configs={len(self.ours_seconds)} "
            f"mean_seconds={np.mean(self.ours_seconds):.2f} "
            f"mean_trace_seconds={np.mean(self.trace_seconds):.2f} "
            f"mean_loss={np.mean(self.ours_losses):.5f}"
        )


def sample_configs(n: int, seed: int) -> list[dict]:
    """`n` seeded points of the course's search (dropout, learning rate, neuron_pct,
    neuron_shrink; the learning rate on a log scale), with the course's fixed choices."""
    space = {d.name: d for d in PyramidNNModel.search_space().dimensions}
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n):
        params = {
            name: space[name].from_unit(float(rng.uniform()))
            for name in ("neuron_pct", "neuron_shrink", "dropout", "learning_rate")
        }
        params.update(
            max_layers=MAX_LAYERS,
            activation="prelu",
            optimizer="adam",
            batch_size=COURSE_BATCH,
            l2=0.0,
        )
        configs.append(params)
    return configs


def course_evaluate(keras, params, task, n_classes, split_arrays, metric, seed, log_target):
    """The course's evaluate_network: fit / predict per split, clear_session at the end."""
    scores = []
    for X_tr, y_tr, X_va, y_va in split_arrays:
        fit_tr, fit_va = (np.log1p(y_tr), np.log1p(y_va)) if log_target else (y_tr, y_va)
        keras.utils.set_random_seed(seed)
        n_out = n_classes if task == "multiclass" else 1
        widths = pyramid_widths(
            params["neuron_pct"],
            params["neuron_shrink"],
            max_layers=params["max_layers"],
            n_inputs=X_tr.shape[1],
            n_outputs=n_out,
        )
        model = keras.Sequential([keras.Input((X_tr.shape[1],))])
        for width in widths:
            model.add(keras.layers.Dense(width))
            model.add(keras.layers.PReLU())
            model.add(keras.layers.Dropout(params["dropout"]))
        head = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}[task]
        model.add(keras.layers.Dense(n_out, activation=head))
        loss = {
            "binary": "binary_crossentropy",
            "multiclass": "categorical_crossentropy",
            "regression": "mean_squared_error",
        }[task]
        model.compile(loss=loss, optimizer=keras.optimizers.Adam(params["learning_rate"]))
        target_tr, target_va = fit_tr, fit_va
        if task == "multiclass":  # the course one-hot encodes the target
            target_tr, target_va = np.eye(n_classes)[y_tr], np.eye(n_classes)[y_va]
        monitor = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            min_delta=1e-3,
            patience=COURSE_PATIENCE,
            verbose=0,
            mode="auto",
            restore_best_weights=True,
        )
        model.fit(
            X_tr,
            target_tr,
            validation_data=(X_va, target_va),
            callbacks=[monitor],
            verbose=0,
            epochs=COURSE_EPOCHS,
        )
        pred = model.predict(X_va, verbose=0).astype(np.float64)
        if task == "binary":
            pred = np.column_stack([1 - pred[:, 0], pred[:, 0]])
        elif task == "regression":
            pred = np.expm1(pred[:, 0]) if log_target else pred[:, 0]
        scores.append(metric.score(y_va, pred))
    keras.backend.clear_session()
    return float(np.mean(scores))


def run_bench_nn(comp, *, n_configs: int, seed: int = 0, reference: bool = True, log=print):
    """Run both loops over `n_configs` configurations; returns a BenchNNResult."""
    from ._compat import import_keras

    keras = import_keras()
    schema = infer_schema(comp)
    metric = get_metric(schema.metric)
    objective, split_arrays = _objective_and_arrays(comp, schema, seed)
    rows = len(split_arrays[0][1]) + len(split_arrays[0][3])
    log(
        f"bench-nn: {comp.name}, {rows} rows x {split_arrays[0][0].shape[1]} inputs, "
        f"{n_configs} configurations, {COURSE_SPLITS} splits, patience {COURSE_PATIENCE} "
        f"(course) and {RunConfig.patience} (ours)"
    )
    worker_rss_mb.clear()  # this benchmark's workers only
    warm_up(fold_workers(COURSE_SPLITS), PyramidNNModel.import_backend)
    result = BenchNNResult([], [], [], [], [])
    for k, params in enumerate(sample_configs(n_configs, seed)):
        ref_text = ""
        if reference:
            started = time.perf_counter()
            ref = course_evaluate(
                keras,
                params,
                schema.task,
                len(schema.classes or ()),
                split_arrays,
                metric,
                seed + k,
                schema.log_target,
            )
            result.ref_seconds.append(time.perf_counter() - started)
            result.ref_losses.append(metric.to_loss(ref))
            ref_text = f"course {result.ref_seconds[-1]:6.1f}s loss {result.ref_losses[-1]:.5f} | "
        started = time.perf_counter()
        trial = objective(params, number=k)
        result.ours_seconds.append(time.perf_counter() - started)
        result.ours_losses.append(metric.to_loss(trial.score))
        result.trace_seconds.append(max(h.get("setup_seconds", 0.0) for h in trial.histories))
        gc.collect()
        # This process and the fold workers: the network's memory now lives in the workers.
        workers_mb, result.workers_gone = live_workers_rss_mb()
        result.rss_mb.append(current_rss_mb() + workers_mb)
        log(
            f"  config {k:3d} | {ref_text}ours {result.ours_seconds[-1]:6.1f}s "
            f"(trace {result.trace_seconds[-1]:.1f}s) loss {result.ours_losses[-1]:.5f} | "
            f"rss {result.rss_mb[-1]:.0f} MB | "
            + json.dumps({n: _short(v) for n, v in params.items() if n != "max_layers"})
        )
    return result


def _objective_and_arrays(comp, schema, seed: int):
    """Our objective on the course's splits, and each split's preprocessed arrays
    (X_train, y_train, X_valid, y_valid) for the course's loop: preprocessing is fitted on
    the split's training rows only, and done once, before any clock starts."""
    X, y, X_test = training_data(comp, schema)
    X_test = X_test.iloc[:1]  # test predictions are not part of the comparison
    splits = make_splits(
        y,
        stratify=schema.is_classification,
        n_splits=COURSE_SPLITS,
        test_size=COURSE_TEST_SIZE,
        random_state=seed,
    )
    objective = build_objective(
        PyramidNNModel,
        schema,
        X,
        y,
        X_test,
        splits,
        model_options={"max_epochs": COURSE_EPOCHS, "patience": RunConfig.patience},
        seed=seed,
    )
    split_arrays = []
    for i, (train_idx, valid_idx) in enumerate(splits):
        X_tr, X_va, _ = objective.split_data(i)
        split_arrays.append((X_tr, y[train_idx], X_va, y[valid_idx]))
    return objective, split_arrays


def memory_line(result: BenchNNResult) -> str:
    """Resident memory after the first trials against the peak of all later ones."""
    rss = result.rss_mb
    base = rss[min(len(rss) - 1, max(0, math.ceil(len(rss) * 0.05) - 1))]
    peak_later = max(rss) if rss else float("nan")
    growth = 100.0 * (peak_later - base) / base if base else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"nn-memory trials={len(rss)} rss_early_mb={base:.0f} rss_peak_mb={peak_later:.0f} "
        f"growth={growth:.1f}% process_peak_mb={peak:.0f} "
        f"workers_gone={result.workers_gone}"
    )


def _short(value):
    return float(f"{value:.4g}") if isinstance(value, float) else value
