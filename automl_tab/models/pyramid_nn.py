"""The course's dense "pyramid" network, on Keras 3.

Widths come from a pure function (tested without TensorFlow); Keras is imported lazily, only
when a network is built.
"""

from __future__ import annotations

import numpy as np

from .._compat import import_keras
from ..exceptions import NotFittedError
from ..space import Categorical
from ..space import Float
from ..space import Int
from ..space import SearchSpace
from ._embeddings import continuous_columns
from ._embeddings import embedded_width
from ._embeddings import embedding_layer
from ._jax_loop import JaxTrainingGraph
from ._keras_loop import TrainingGraph
from ._keras_loop import train
from ._keras_loop import training_graph
from ._members import losses
from ._members import member_layers

MAX_UNITS = 5000  # the course's maximum first-layer width
MIN_UNITS = 25  # the course's floor: no hidden layer narrower than this
MAX_LAYERS = 10  # the course's layer cap
# A network never has more weights than this (16 MB of float32; with optimizer slots and
# gradients about 64 MB), so any point of the space fits in memory on a small machine.
MAX_PARAMS = 4_000_000
PREDICT_BATCH = 8192
# On a CPU a tiny mini-batch costs about as much per step as a large one, so an epoch of many
# small steps is mostly overhead. No batch is smaller than MIN_BATCH: a matrix product of 128
# rows runs at 72-95 GFLOP/s on this 2-core CPU, one of 32 rows at 41. bench-nn's six
# jh-simple configurations took 168 s at batch 32 and 131 s at 128, at mean log loss 0.823 and
# 0.805; house-prices' six 103 s and 65 s, mean RMSLE of its four good ones 0.144 and 0.134
# (of the two poor ones 0.37 and 0.41).
# On large data the batch doubles until an epoch has at most MAX_STEPS_PER_EPOCH steps, and the
# learning rate grows with the square root of the factor, the usual rule for Adam-like
# optimizers. Measured on otto (41,767 rows, 500-300-180-108-64-38 network): batch 32 took
# 234 s at loss 0.6205, 256 took 69 s at 0.6131, 1024 took 76 s at 0.6165 (more epochs).
MIN_BATCH = 128
MAX_STEPS_PER_EPOCH = 200
MAX_BATCH = 4096
# The weights all members of a network share grow with the training rows: wide networks on
# small data cost minutes and learn no more. bench-nn (our loop only, same configurations),
# without the rule -> with it: titanic's 20 configurations 8.98 -> 3.07 s each, mean accuracy
# 0.829 -> 0.846; jh-simple's 10: 40.7 -> 9.2 s each, mean log loss 0.805 -> 0.725.
PARAMS_PER_ROW = 200
MIN_CAPACITY = 100_000
MEMBERS_ROWS = 5000  # the default trial trains eight members up to this many rows
# The searched rate is Adam's; SGD (momentum 0.9) trains at ten times it. At the rate itself
# most SGD draws stayed near chance (9 draws, 3 folds: titanic's mean accuracy 0.753 -> 0.837,
# house-prices' RMSLE 0.137 -> 0.132, in 0.5-0.9x the time; at 30x the fastest diverged).
SGD_RATE_SCALE = 10.0


# Known-good points tried after the default (starting_points), chosen among eight candidates
# by their loss over three folds on the ten public competitions (the first that most lowers
# the loss where the default is behind, then the next): wider, no embeddings, a higher rate
# and leaky units (jh-simple 0.663 -> 0.641, penguins 0.024 -> 0.006, otto 0.579 -> 0.546;
# california 48,506 -> 49,462); twice the width with more dropout (otto 0.539, bike-sharing
# RMSLE 0.274 -> 0.268); three narrow layers at a higher rate (breast-cancer 0.973 -> 0.981,
# auto-mpg 2.91 -> 2.90). Each takes the default's other settings.
PORTFOLIO = (
    {"neuron_pct": 0.04, "dropout": 0.2, "learning_rate": 3e-3, "activation": "leaky_relu",
     "batch_size": 256, "embedding": "none"},
    {"neuron_pct": 0.05, "dropout": 0.3, "batch_size": 256},
    {"neuron_pct": 0.02, "neuron_shrink": 0.9, "max_layers": 3, "dropout": 0.15,
     "learning_rate": 3e-3, "l2": 1e-5},
)  # fmt: skip


def scaled_batch(batch_size: int, n_rows: int, max_steps: int = MAX_STEPS_PER_EPOCH) -> int:
    """`batch_size` raised to MIN_BATCH, then doubled while an epoch of `n_rows` would take
    more than `max_steps` steps."""
    batch = max(int(batch_size), MIN_BATCH)
    while n_rows > batch * max_steps and batch * 2 <= MAX_BATCH:
        batch *= 2
    return batch


def capacity(n_rows: int) -> int:
    """Weights all members of a network share on `n_rows` training rows: PARAMS_PER_ROW a
    row, at least MIN_CAPACITY, at most MAX_PARAMS."""
    return int(min(MAX_PARAMS, max(MIN_CAPACITY, PARAMS_PER_ROW * n_rows)))


def count_params(n_inputs: int, widths: list[int], n_outputs: int) -> int:
    sizes = [n_inputs, *widths, n_outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def pyramid_widths(
    neuron_pct: float,
    neuron_shrink: float,
    *,
    max_layers: int = MAX_LAYERS,
    max_units: int = MAX_UNITS,
    min_units: int = MIN_UNITS,
    n_inputs: int | None = None,
    n_outputs: int = 1,
    max_params: int = MAX_PARAMS,
) -> list[int]:
    """Hidden-layer widths: first = neuron_pct × max_units, each next × neuron_shrink, while a
    layer keeps at least `min_units` units and there are at most `max_layers` layers.

    There is always one hidden layer (of at least `min_units`). With `n_inputs` given, the first
    width is lowered until the whole network has at most `max_params` weights.
    """
    first = max(float(neuron_pct) * max_units, float(min_units))
    while True:
        widths, units = [], first
        while units >= min_units and len(widths) < max_layers:
            widths.append(int(units))
            units *= neuron_shrink
        if n_inputs is None or count_params(n_inputs, widths, n_outputs) <= max_params:
            return widths
        if first <= min_units:
            return widths[:1]
        first = max(first * 0.9, float(min_units))


class PyramidNNModel:
    """Pyramid MLP with dropout, early stopping on validation loss and best weights restored.

    Output and loss follow the task: sigmoid + binary cross-entropy, softmax + cross-entropy,
    or a linear unit + MSE on a standardised target (regression).
    """

    name = "nn"
    parallel_folds = True  # see search/fold_pool.py
    target_trials = 10  # trials the run plan wants the family to afford (plan.py)
    # A fold cut by the time cap before this many epochs makes the trial fail: half-trained
    # (at 60 s the first network used to be cut after one epoch, at chance level).
    min_epochs = 10
    optimizer_backend = None  # the run's --backend
    has_learning_curves = True  # the report plots its best trials' epochs

    @classmethod
    def fixed_options(cls, config) -> dict:
        """Options from the run's config for every trial: the epoch cap and patience."""
        return {"max_epochs": config.max_epochs, "patience": config.patience}

    def __init__(
        self,
        *,
        neuron_pct=0.0126,
        neuron_shrink=0.5,
        max_layers=2,
        dropout=0.1,
        learning_rate=1e-3,
        activation="prelu",
        optimizer="adam",
        batch_size=128,
        l2=1e-6,
        task="binary",
        n_classes=2,
        random_state=0,
        max_epochs=500,
        patience=10,
        min_delta=1e-3,
        deadline=None,
        members=8,
        label_smoothing=0.0,
        beta_2=0.95,
        patience_rate=0.5,
        max_work=None,
        embedding="periodic",
        capacity_rule=True,
        sgd_rate_scale=SGD_RATE_SCALE,
    ):
        self.neuron_pct = neuron_pct
        self.neuron_shrink = neuron_shrink
        self.max_layers = max_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.activation = activation
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.l2 = l2
        self.task = task
        self.n_classes = n_classes
        self.random_state = random_state
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.deadline = deadline
        self.members = members
        self.label_smoothing = label_smoothing
        self.beta_2 = beta_2
        self.patience_rate = patience_rate
        self.max_work = max_work
        self.embedding = embedding
        self.capacity_rule = capacity_rule
        self.sgd_rate_scale = sgd_rate_scale

    def _max_params(self, n_rows: int) -> int:
        """Weights of one member: the capacity all members share (see capacity()), or less
        when the run plan gave a `max_work` (weights x members that its budget trains long
        enough)."""
        total = capacity(n_rows) if self.capacity_rule else MAX_PARAMS * int(self.members)
        if self.max_work is not None:
            total = min(total, int(self.max_work))
        return int(min(MAX_PARAMS, max(1, total // int(self.members))))

    @staticmethod
    def work_rate(history: dict) -> float | None:
        """Weights x members x rows trained per second in this fit (for the run plan)."""
        if history.get("epoch_seconds", 0) > 0 and history.get("work"):
            return history["work"] / history["epoch_seconds"]
        return None

    @classmethod
    def import_backend(cls) -> None:
        """Import Keras and train a tiny network for two epochs (seconds), before any fit's
        clock starts: the first fit in a process also pays TensorFlow's one-off start-up
        (~0.3 s), and a fold worker's size after this is what loky's leak check compares
        later sizes with (a worker measured just after the import grew past its 300 MB limit
        on wide networks and was replaced, paying the import again)."""
        import_keras()
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 4)).astype(np.float32)
        y = (X[:, 0] > 0).astype(int)
        cls(neuron_pct=0.0, max_layers=1, members=4, max_epochs=2).fit(X, y, X, y)

    @classmethod
    def search_space(cls) -> SearchSpace:
        return SearchSpace(
            (
                Float("neuron_pct", 0.005, 1.0, log=True),
                Float("neuron_shrink", 0.1, 0.9),
                Int("max_layers", 1, MAX_LAYERS),
                Float("dropout", 0.0, 0.5),
                Float("learning_rate", 1e-4, 3e-2, log=True),  # log scale: never 0 (course flaw 2)
                Categorical("activation", ("prelu", "relu", "leaky_relu")),
                Categorical("optimizer", ("adam", "rmsprop", "sgd")),
                Categorical("batch_size", (128, 256, 512)),
                # Networks trained at once, TabM-style (see _members.py): better on 3 of 5
                # competitions in the ablation (-2.7 % mean), at about twice the time.
                Categorical("members", (1, 4, 8)),
                Float("l2", 1e-8, 1e-2, log=True),
                # Periodic embeddings of the numeric inputs (see _embeddings.py): better in
                # the ablation on 5 of 7 competitions, at up to twice the time per epoch.
                Categorical("embedding", ("none", "periodic")),
            )
        )

    @classmethod
    def default_params(cls, rows: int | None = None) -> dict:
        """A known-good first trial: near the course's best (one ~60-unit PReLU layer), as
        eight members (bench-recipe: better than one on 4 of 6 competitions, jh-simple's log
        loss 0.687 -> 0.649, house-prices' RMSLE 0.138 -> 0.126) up to MEMBERS_ROWS training
        rows; one above, where eight cost 14 s a fold (adult, california) and the baseline
        could not converge in a 60 s run's share."""
        members = 8 if rows is None or rows <= MEMBERS_ROWS else 1
        return {
            "neuron_pct": 0.0126,
            "neuron_shrink": 0.5,
            "max_layers": 2,
            "dropout": 0.1,
            "learning_rate": 1e-3,
            "activation": "prelu",
            "optimizer": "adam",
            "batch_size": 128,
            "l2": 1e-6,
            "members": members,
            "embedding": "periodic",
        }

    @classmethod
    def starting_points(cls, rows: int | None = None) -> list[dict]:
        """The default, then PORTFOLIO (with the default's members for `rows`), tried before
        the optimizer's own proposals, which start as random draws of the whole space: in
        300 s network-only runs on adult, california and otto the search got 5-8 trials, the
        random ones drew SGD on seven layers, eight members of a 4,500-unit first layer or a
        learning rate of 2e-4, and the default stayed the best network on two of the three."""
        default = cls.default_params(rows)
        return [default, *({**default, **point} for point in PORTFOLIO)]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == "multiclass" else 1

    def _build(self, keras, n_inputs: int):
        layers = keras.layers
        member_inputs, member_heads = member_layers(keras)
        reg = keras.regularizers.l2(self.l2) if self.l2 > 0 else None
        inputs = keras.Input((n_inputs,))
        x = inputs
        if self.embedded_columns_:
            x = embedding_layer(keras)(self.embedded_columns_)(x)
        x = member_inputs(self.members)(x) if self.members > 1 else x
        for width in self.widths_:
            x = layers.Dense(width, kernel_regularizer=reg)(x)
            if self.activation == "prelu":
                x = layers.PReLU()(x)
            elif self.activation == "leaky_relu":
                x = layers.LeakyReLU(negative_slope=0.1)(x)
            else:
                x = layers.ReLU()(x)
            if self.dropout > 0:
                x = layers.Dropout(self.dropout)(x)
        head = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}[self.task]
        if self.members > 1:
            x = member_heads(self.members, self.n_outputs)(x)
            outputs = layers.Activation(head)(x)
        else:
            outputs = layers.Dense(self.n_outputs, activation=head)(x)
        model = keras.Model(inputs, outputs)
        optimizers = {
            "adam": lambda: keras.optimizers.Adam(self.learning_rate_, beta_2=self.beta_2),
            "rmsprop": lambda: keras.optimizers.RMSprop(self.learning_rate_),
            "sgd": lambda: keras.optimizers.SGD(self.learning_rate_, momentum=0.9, nesterov=True),
        }
        pair = losses(keras, self.task, int(self.members), float(self.label_smoothing))
        return model, pair, optimizers[self.optimizer]()

    def _encode_y(self, y):
        if self.task == "regression":
            scaled = (np.asarray(y, float) - self.y_mean_) / self.y_scale_
            return scaled.astype(np.float32)[:, None]
        if self.task == "binary":
            return np.asarray(y, dtype=np.float32)[:, None]
        return np.asarray(y, dtype=np.int32)

    def fit(self, X, y, X_val, y_val):
        """Train until validation loss stops improving; keeps the best epoch's weights."""
        keras = import_keras()
        X = np.asarray(X, dtype=np.float32)
        X_val = np.asarray(X_val, dtype=np.float32)
        if self.task == "regression":
            self.y_mean_ = float(np.mean(y))
            self.y_scale_ = float(np.std(y)) or 1.0
        periodic = self.embedding == "periodic"
        self.embedded_columns_ = continuous_columns(X) if periodic else ()
        n_features = embedded_width(X.shape[1], len(self.embedded_columns_))
        self.widths_ = pyramid_widths(
            self.neuron_pct,
            self.neuron_shrink,
            max_layers=int(self.max_layers),
            n_inputs=n_features,
            n_outputs=self.n_outputs,
            max_params=self._max_params(len(X)),
        )
        self.batch_size_ = scaled_batch(self.batch_size, len(X))
        self.learning_rate_ = self.learning_rate * (self.batch_size_ / self.batch_size) ** 0.5
        self.learning_rate_ *= float(self.sgd_rate_scale) if self.optimizer == "sgd" else 1.0
        # Everything the traced graph depends on; the learning rate is a variable, not traced.
        shape = (X.shape[1], tuple(self.widths_), self.activation, float(self.dropout))
        shape += (self.embedded_columns_,)
        recipe = (int(self.members), float(self.label_smoothing), float(self.beta_2))
        key = (*shape, float(self.l2), self.optimizer, self.task, self.n_outputs, self.batch_size_)
        key += recipe
        graph_type = JaxTrainingGraph if keras.backend.backend() == "jax" else TrainingGraph
        build = lambda: self._build(keras, X.shape[1])  # noqa: E731
        graph = training_graph(keras, key, build, self.batch_size_, graph_type)
        keras.utils.set_random_seed(int(self.random_state))
        self.model_, _, _ = self._build(keras, X.shape[1])  # this fit's seeded initial weights
        graph.start(self.model_, self.learning_rate_, rows=len(X))
        self.best_epoch_, self.history_ = train(
            graph,
            X=X,
            y=self._encode_y(y),
            X_val=X_val,
            y_val=self._encode_y(y_val),
            max_epochs=self.max_epochs,
            patience=self.patience,
            min_delta=self.min_delta,
            seed=int(self.random_state),
            deadline=self.deadline,
            patience_rate=float(self.patience_rate),
        )
        weights = count_params(n_features, self.widths_, self.n_outputs)
        self.history_["work"] = float(weights * int(self.members) * len(X))
        # The graph's model trains the next fold; this estimator keeps its own copy.
        self.model_.set_weights(graph.model.get_weights())
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("PyramidNNModel is not fitted; call fit(X, y, X_val, y_val)")
        X = np.asarray(X, dtype=np.float32)
        # Calling the model directly avoids Model.predict's per-call setup on small arrays.
        chunks = [
            np.asarray(self.model_(X[i : i + PREDICT_BATCH], training=False))
            for i in range(0, len(X), PREDICT_BATCH)
        ]
        out = np.concatenate(chunks) if chunks else np.zeros((0, self.n_outputs))
        out = out.astype(np.float64)
        if out.ndim == 3:  # several members: their mean prediction
            out = out.mean(axis=1)
        if self.task == "regression":
            return out[:, 0] * self.y_scale_ + self.y_mean_
        if self.task == "binary":
            return np.column_stack([1 - out[:, 0], out[:, 0]])
        return out
