"""The training loop's epoch graph on Keras' JAX backend: the GPU path.

TensorFlow has no GPU build small enough for every machine that has a GPU, and JAX with CUDA
is often already there; Keras 3 runs the same layers on either (KERAS_BACKEND=jax). This is
TrainingGraph's twin: one jitted call trains a whole epoch (a seeded shuffle, then every
mini-batch step in a `fori_loop`) through Keras' stateless API, so the weights, the dropout
seeds and the optimizer's slots live in one immutable state that stays on the device. Keeping
the best epoch is keeping a reference to its state: no copy to the host per improvement.

Mini-batches have one static size, so the last one of an epoch takes its missing rows from
the start of the epoch's order (each row is seen at least once an epoch; XLA compiles one
step). Kept graphs follow the TensorFlow loop's rules (key, start, restore).
"""

from __future__ import annotations

from ._keras_loop import TrainingGraph


class JaxTrainingGraph(TrainingGraph):
    """A network with its optimizer and jitted epoch and validation functions (its own
    __init__: TrainingGraph's traces TensorFlow graphs)."""

    def __init__(self, key, model, losses, optimizer, batch_size: int):
        import jax

        self.jax, self.key = jax, key
        self.model, self.optimizer = model, optimizer
        optimizer.build(model.trainable_variables)
        self.batch_size = int(batch_size)
        self._epoch = jax.jit(self._make_epoch(losses[0]), static_argnames="batch")
        self._val = jax.jit(self._make_val(losses[1]))
        self.state = None

    def optimize_graphs(self, on: bool) -> None:
        """XLA compiles the jitted functions whatever the size: nothing to choose."""

    def _make_epoch(self, loss_fn):
        jax, model, optimizer = self.jax, self.model, self.optimizer
        jnp = jax.numpy

        def objective(trainable, non_trainable, xb, yb):
            pred, non_trainable, penalties = model.stateless_call(
                trainable, non_trainable, xb, training=True, return_losses=True
            )
            loss = loss_fn(yb, pred)
            return loss + sum(penalties), (loss, non_trainable)

        gradient = jax.value_and_grad(objective, has_aux=True)

        def epoch(state, X, y, key, batch):
            n = X.shape[0]
            steps = -(-n // batch)
            order = jax.random.permutation(key, n)

            def step(i, carry):
                trainable, non_trainable, slots, total = carry
                idx = order[(i * batch + jnp.arange(batch)) % n]
                (_, (loss, non_trainable)), grads = gradient(
                    trainable, non_trainable, X[idx], y[idx]
                )
                trainable, slots = optimizer.stateless_apply(slots, grads, trainable)
                return trainable, non_trainable, slots, total + loss

            *state, total = jax.lax.fori_loop(0, steps, step, (*state, jnp.float32(0.0)))
            return tuple(state), total / steps

        return epoch

    def _make_val(self, eval_fn):
        model = self.model

        def val_loss(trainable, non_trainable, X, y):
            pred, _ = model.stateless_call(trainable, non_trainable, X, training=False)
            return eval_fn(y, pred)

        return val_loss

    def start(self, initial_model, learning_rate: float, rows: int | None = None) -> None:
        """TrainingGraph.start, then this fit's state from the variables. The learning rate
        is one of the optimizer's variables, so it is part of the jitted state and a kept
        graph trains at each trial's own rate."""
        super().start(initial_model, learning_rate, rows)
        self.state = (
            [v.value for v in self.model.trainable_variables],
            [v.value for v in self.model.non_trainable_variables],
            [v.value for v in self.optimizer.variables],
        )

    def tensors(self, X, y):
        return self.jax.numpy.asarray(X), self.jax.numpy.asarray(y)

    def train_epoch(self, data, seed: int, epoch: int) -> float:
        """One pass over `data` in an order drawn from (seed, epoch); the mean training loss."""
        key = self.jax.random.fold_in(self.jax.random.PRNGKey(seed), epoch)
        batch = min(self.batch_size, int(data[0].shape[0]))
        self.state, loss = self._epoch(self.state, *data, key, batch=batch)
        return float(loss)

    def val_loss(self, data) -> float:
        return float(self._val(self.state[0], self.state[1], *data))

    def snapshot(self):
        return self.state  # immutable arrays: a reference is a copy

    def restore(self, snapshot) -> None:
        """Load `snapshot`'s weights into the Keras model (predictions call it directly)."""
        self.state = snapshot
        trainable, non_trainable, _ = snapshot
        for variable, value in zip(self.model.trainable_variables, trainable, strict=True):
            variable.assign(value)
        for variable, value in zip(self.model.non_trainable_variables, non_trainable, strict=True):
            variable.assign(value)
