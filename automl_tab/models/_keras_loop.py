"""A lean training loop for Keras 3 models, on TensorFlow (here) or JAX (_jax_loop.py).

Keras `fit` spends most of its time per epoch on tiny tabular data in Python and tf.data
set-up. Here the whole epoch (seeded shuffle, every mini-batch step) is one compiled graph
call over tensors kept in memory, validation loss is a second call, and early stopping with
best-weight restore happens in a few lines of Python between epochs. The traced graph is kept
for the next fit of the same network shape (the other folds of a trial), see TrainingGraph.
"""

from __future__ import annotations

import gc
import time

import numpy as np

from ..exceptions import TrialFailed

EVAL_BATCH = 16384
# Grappler, TensorFlow's graph optimiser, rewrites every newly traced epoch graph before its
# first run, and on these networks that rewrite costs more than its kernels save: bench-nn
# titanic (20 configurations, 2 splits) 6.82 -> 5.89 s a configuration without it, tracing
# 1.33 -> 0.78 s, the same losses bit for bit; bike-sharing (7,000 rows, three networks up to
# 500-300-180-108) 0.65-0.98 s of tracing against 0.95-1.51, the same epoch times; on otto
# (37,000 rows) a wash. Above this many rows (not measured) it stays on.
GRAPPLER_MIN_ROWS = 50_000


def compile_steps(tf, model, losses, optimizer, batch_size: int):
    """Return (train_epoch(X, y, seed) -> mean loss, val_loss(X, y) -> loss) graph functions;
    `losses` is (the loss the weights minimise, the loss that validation reports)."""
    loss_fn, eval_fn = losses
    optimizer.build(model.trainable_variables)
    variables = model.trainable_variables
    batch = tf.constant(int(batch_size))

    @tf.function(reduce_retracing=True)
    def train_epoch(X, y, seed):
        n = tf.shape(X)[0]
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed)
        total = tf.constant(0.0)
        for i in tf.range((n + batch - 1) // batch):
            idx = order[i * batch : tf.minimum((i + 1) * batch, n)]
            xb, yb = tf.gather(X, idx), tf.gather(y, idx)
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
                penalty = tf.add_n(model.losses) if model.losses else 0.0
                objective = loss + penalty
            grads = tape.gradient(objective, variables)
            # The optimizer's own update rule, without apply_gradients' tf.distribute merge
            # call: traced in a graph, that path keeps ~3 MB of native TensorFlow memory per
            # model for the life of the process (measured); this one keeps none.
            learning_rate = tf.cast(optimizer.learning_rate, tf.float32)
            for grad, variable in zip(grads, variables):
                optimizer.update_step(grad, variable, learning_rate)
            optimizer.iterations.assign_add(1)
            total += loss * tf.cast(tf.shape(idx)[0], tf.float32)
        return total / tf.cast(n, tf.float32)

    @tf.function(reduce_retracing=True)
    def val_loss(X, y):
        return eval_fn(y, model(X, training=False))

    return train_epoch, val_loss


class TrainingGraph:
    """A network with its optimizer and traced epoch graphs, reused by fits of the same shape
    (TensorFlow; JaxTrainingGraph is the same on JAX, where one jitted epoch runs on a GPU).

    Tracing the epoch graph takes 1-3 s (more with depth), as long as training a small network
    on a small fold; the folds of a trial build identical networks, so tracing once per trial
    instead of once per fold removes most of that. Each fit copies its own freshly initialised
    variables in (dropout seed states included) and zeroes the optimizer's state, so a reused
    graph trains exactly as a new one would (tested).
    """

    def __init__(self, key, model, losses, optimizer, batch_size: int):
        import tensorflow as tf

        self.tf, self.key = tf, key
        self.model, self.optimizer = model, optimizer
        self._epoch, self._val = compile_steps(tf, model, losses, optimizer, batch_size)

    def start(self, initial_model, learning_rate: float, rows: int | None = None) -> None:
        """Load `initial_model`'s variables and reset the optimizer to its first step; the
        graph optimiser runs for a fit on `rows` training rows only from GRAPPLER_MIN_ROWS
        (read when the graph is called, so it holds for this fit's calls)."""
        self.optimize_graphs(rows is None or rows >= GRAPPLER_MIN_ROWS)
        for target, source in zip(self.model.variables, initial_model.variables, strict=True):
            target.assign(source.value)
        for variable in self.optimizer.variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        self.optimizer.learning_rate.assign(learning_rate)

    def optimize_graphs(self, on: bool) -> None:
        self.tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": not on})

    def tensors(self, X, y):
        return self.tf.constant(X), self.tf.constant(y)

    def train_epoch(self, data, seed: int, epoch: int) -> float:
        """One pass over `data` in an order drawn from (seed, epoch); the mean training loss."""
        return float(self._epoch(*data, self.tf.constant([seed, epoch], dtype=self.tf.int64)))

    def val_loss(self, data) -> float:
        return float(self._val(*data))

    def snapshot(self):
        return self.model.get_weights()

    def restore(self, snapshot) -> None:
        self.model.set_weights(snapshot)


_current = None


def training_graph(keras, key, build, batch_size: int, graph_type=TrainingGraph):
    """The kept graph when `key` (everything the trace depends on) matches, else a new
    `graph_type` (the caller picks it for Keras' backend); the old one is dropped with Keras'
    session, so memory stays flat over many trials."""
    global _current
    if _current is None or _current.key != key:
        _current = None
        keras.backend.clear_session()
        gc.collect()
        _current = graph_type(key, *build(), batch_size)
    return _current


# After the first epoch, whose time is mostly tracing, training stops only once it is this
# far past the deadline: the set-up is not known yet, and is never charged.
FIRST_EPOCH_GRACE = 10.0


def _out_of_time(seconds: list[float], deadline: float, setup: float) -> bool:
    """Whether to stop before the next epoch: it would end past the deadline (plus the
    set-up, which is not charged), at the pace of the last one. A network whose epochs take
    20 s (otto, ten wide layers) otherwise ran a whole epoch past it: 24 s over a 120 s run."""
    now = time.monotonic()
    if len(seconds) == 1:
        return now > deadline + FIRST_EPOCH_GRACE
    return now + seconds[-1] > deadline + setup


def train(
    graph,
    *,
    X,
    y,
    X_val,
    y_val,
    max_epochs: int,
    patience: int,
    min_delta: float,
    seed: int,
    deadline: float | None = None,
    patience_rate: float = 0.0,
) -> tuple[int, dict]:
    """Train with early stopping on validation loss; restores the best epoch's weights.

    Returns (best_epoch counted from 1, history with "loss", "val_loss" per epoch,
    "time_capped" and "setup_seconds"). When the next epoch would end past `deadline`
    (time.monotonic) training stops and keeps the best epoch so far, as AutoGluon does with a
    time limit: a slow configuration is scored on what it reached, not thrown away. The first
    epoch's extra time over the second (tracing the graph, 1-6 s) is not charged to the
    deadline, so a network is never cut for its set-up; it is reported as "setup_seconds".
    Raises TrialFailed when the loss diverges.
    """
    data, val_data = graph.tensors(X, y), graph.tensors(X_val, y_val)
    best, best_epoch, wait, best_weights = np.inf, 0, 0, None
    history: dict = {"loss": [], "val_loss": [], "time_capped": False, "setup_seconds": 0.0}
    seconds = []
    for epoch in range(max_epochs):
        started = time.monotonic()
        loss = graph.train_epoch(data, seed, epoch)
        current = graph.val_loss(val_data)
        seconds.append(time.monotonic() - started)
        if epoch == 1:
            history["setup_seconds"] = max(0.0, seconds[0] - seconds[1])
        history["loss"].append(loss)
        history["val_loss"].append(current)
        if not (np.isfinite(loss) and np.isfinite(current)):
            raise TrialFailed(f"the network diverged at epoch {epoch + 1} (loss is NaN or inf)")
        if current < best - min_delta:
            best, best_epoch, wait = current, epoch, 0
            best_weights = graph.snapshot()
        else:
            wait += 1
            # Patience grows with the best epoch (AutoGluon's rule is 20 + 0.5 x best): a
            # network still improving slowly late in training is not stopped by noise.
            if wait >= patience + patience_rate * best_epoch:
                break
        if deadline is not None and _out_of_time(seconds, deadline, history["setup_seconds"]):
            history["time_capped"] = True
            break
    # The pace of an epoch after the first (which also traces): what the run plan sizes with.
    history["epoch_seconds"] = float(np.median(seconds[1:] if len(seconds) > 1 else seconds))
    graph.restore(best_weights)
    return best_epoch + 1, history
