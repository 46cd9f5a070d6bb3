"""Periodic embeddings of numeric inputs (methods read in Gorishniy et al. 2022, "On
Embeddings for Numerical Features in Tabular Deep Learning", and RealMLP's PBLD embedding,
Holzmüller et al. 2024).

A dense layer sees a number only through one weight per unit, so functions with many bends
in one input (prices by location, counts with thresholds) need many units to approximate.
Here each continuous input x becomes cos(2π w x + b) for EMBED_FREQUENCIES trainable
frequencies w and phases b of its own, mapped by a small dense layer of its own to
EMBED_DIM values and a ReLU; the network gets those beside x itself (so the plain linear
path stays). Inputs that take two values only (one-hot columns, missing-value and word
indicators) are passed on as they are: a periodic map of a 0/1 column adds nothing.

Keras is imported by the caller and passed in, so importing this module stays cheap.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

EMBED_FREQUENCIES = 16
EMBED_DIM = 8
# Initial frequencies ~ N(0, EMBED_SIGMA) on z-scored inputs: most start as slow waves over
# the inputs' range (|w x| < 1 for |x| < 3), a few as faster ones, and training moves them.
EMBED_SIGMA = 0.1
SAMPLE_ROWS = 2000  # rows looked at to tell continuous inputs from 0/1 indicators
# Above this many continuous inputs nothing is embedded: the first layer would see nine
# times the inputs (otto's 93 count columns: 837), and its epochs cost as much more on a CPU.
MAX_EMBEDDED = 64


def continuous_columns(X: np.ndarray) -> tuple[int, ...]:
    """Indices of the columns with more than two distinct values among the first
    SAMPLE_ROWS rows (the training rows the network is fitted on); none when there are more
    than MAX_EMBEDDED."""
    head = np.asarray(X[:SAMPLE_ROWS])
    columns = tuple(j for j in range(head.shape[1]) if len(np.unique(head[:, j])) > 2)
    return columns if len(columns) <= MAX_EMBEDDED else ()


def embedded_width(n_inputs: int, n_embedded: int) -> int:
    """Inputs the first hidden layer sees when `n_embedded` of `n_inputs` are embedded."""
    return n_inputs + n_embedded * EMBED_DIM


@lru_cache(maxsize=1)
def embedding_layer(keras):
    """The PeriodicEmbedding layer class for this Keras."""
    ops = keras.ops

    class PeriodicEmbedding(keras.layers.Layer):
        """(batch, inputs) -> (batch, inputs + len(columns) x EMBED_DIM)."""

        def __init__(self, columns, **kwargs):
            super().__init__(**kwargs)
            self.columns = tuple(int(c) for c in columns)

        def build(self, input_shape):
            m, k, d = len(self.columns), EMBED_FREQUENCIES, EMBED_DIM
            init = keras.initializers
            self.frequency = self.add_weight(
                shape=(m, k), initializer=init.RandomNormal(0.0, EMBED_SIGMA), name="frequency"
            )
            self.phase = self.add_weight(
                shape=(m, k), initializer=init.RandomUniform(-np.pi, np.pi), name="phase"
            )
            limit = k**-0.5
            self.kernel = self.add_weight(
                shape=(m, k, d), initializer=init.RandomUniform(-limit, limit), name="kernel"
            )
            self.bias = self.add_weight(shape=(m, d), initializer="zeros", name="bias")

        def call(self, x):
            picked = ops.take(x, list(self.columns), axis=1)  # (batch, m)
            waves = ops.cos(2 * np.pi * picked[:, :, None] * self.frequency[None] + self.phase)
            mapped = ops.relu(ops.einsum("bmk,mkd->bmd", waves, self.kernel) + self.bias)
            flat = ops.reshape(mapped, (-1, len(self.columns) * EMBED_DIM))
            return ops.concatenate([x, flat], axis=1)

    return PeriodicEmbedding
