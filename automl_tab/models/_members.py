"""Pieces of the network recipe that Keras does not have: several networks trained at once in
one model (TabM's "mini" ensemble, Gorishniy et al. 2024), and the losses that go with them.

TabM-mini: the input is copied once per member and each copy is scaled by the member's own
trainable per-feature factor (random signs at start); the hidden layers are shared and run
on every copy; each member has its own output head. Training minimises the mean of the
members' losses (not the loss of their mean); predictions and early stopping use the mean of
the members' predictions. Members differ only a little in weights but enough in what they
learn that their average is steadier than one network, which matters most on small data.

Keras is imported by the caller and passed in, so importing this module stays cheap.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def member_layers(keras):
    """(MemberInputs, MemberHeads) layer classes for this Keras."""
    ops = keras.ops

    class RandomSigns(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            draws = keras.random.randint(shape, 0, 2, seed=keras.random.SeedGenerator())
            return ops.cast(draws * 2 - 1, dtype or "float32")

    class MemberInputs(keras.layers.Layer):
        """(batch, features) -> (batch, members, features), each member's copy scaled."""

        def __init__(self, members: int, **kwargs):
            super().__init__(**kwargs)
            self.members = members

        def build(self, input_shape):
            self.scale = self.add_weight(
                shape=(self.members, input_shape[-1]), initializer=RandomSigns(), name="scale"
            )

        def call(self, x):
            return x[:, None, :] * self.scale[None, :, :]

    class MemberHeads(keras.layers.Layer):
        """(batch, members, width) -> (batch, members, units): one linear head per member."""

        def __init__(self, members: int, units: int, **kwargs):
            super().__init__(**kwargs)
            self.members, self.units = members, units

        def build(self, input_shape):
            width = input_shape[-1]
            limit = width**-0.5
            self.kernel = self.add_weight(
                shape=(self.members, width, self.units),
                initializer=keras.initializers.RandomUniform(-limit, limit),
                name="kernel",
            )
            self.bias = self.add_weight(
                shape=(self.members, self.units), initializer="zeros", name="bias"
            )

        def call(self, x):
            return ops.einsum("bkd,kdo->bko", x, self.kernel) + self.bias[None]

    return MemberInputs, MemberHeads


def losses(keras, task: str, members: int, label_smoothing: float):
    """(train_loss, eval_loss) functions of (y, prediction).

    train_loss is what the weights minimise: each member's loss, with label smoothing for
    classification when asked; eval_loss scores the members' mean prediction without
    smoothing: it drives early stopping and is the loss the competition metric follows.
    """
    ops = keras.ops
    plain = {
        "binary": keras.losses.BinaryCrossentropy(),
        "multiclass": keras.losses.SparseCategoricalCrossentropy(),
        "regression": keras.losses.MeanSquaredError(),
    }[task]
    smoothed = plain
    if label_smoothing > 0 and task == "binary":
        smoothed = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    elif label_smoothing > 0 and task == "multiclass":

        def smoothed(y, proba):
            # (1 - e) x the true class's negative log-likelihood + e x the mean over classes.
            log_p = ops.log(ops.clip(proba, 1e-7, 1.0))
            true = ops.take_along_axis(log_p, ops.cast(y, "int32")[:, None], axis=-1)[:, 0]
            mixed = (1 - label_smoothing) * true + label_smoothing * ops.mean(log_p, axis=-1)
            return -ops.mean(mixed)

    def train_loss(y, pred):
        if members > 1:
            y = ops.repeat(y, members, axis=0)
            pred = ops.reshape(pred, (-1, pred.shape[-1]))
        return smoothed(y, pred)

    def eval_loss(y, pred):
        return plain(y, ops.mean(pred, axis=1) if members > 1 else pred)

    return train_loss, eval_loss
