import subprocess
import sys

import numpy as np

from automl_tab.models.pyramid_nn import MAX_PARAMS
from automl_tab.models.pyramid_nn import MEMBERS_ROWS
from automl_tab.models.pyramid_nn import MIN_CAPACITY
from automl_tab.models.pyramid_nn import PARAMS_PER_ROW
from automl_tab.models.pyramid_nn import SGD_RATE_SCALE
from automl_tab.models.pyramid_nn import PyramidNNModel
from automl_tab.models.pyramid_nn import capacity
from automl_tab.models.pyramid_nn import count_params
from automl_tab.models.pyramid_nn import pyramid_widths


def test_course_pyramid():
    # 0.1 × 5000 = 500, then × 0.5 while at least 25 units
    assert pyramid_widths(0.1, 0.5) == [500, 250, 125, 62, 31]


def test_layer_cap_and_floor():
    assert len(pyramid_widths(0.2, 0.99)) == 10
    assert pyramid_widths(0.2, 0.99, max_layers=3) == [1000, 990, 980]
    assert pyramid_widths(0.001, 0.5) == [25]  # always one hidden layer, never below the floor
    assert min(pyramid_widths(0.5, 0.9)) >= 25


def test_widths_are_bounded_by_parameter_count():
    widths = pyramid_widths(1.0, 0.9, n_inputs=500, n_outputs=9)
    assert count_params(500, widths, 9) <= MAX_PARAMS
    assert widths[0] < 5000


def test_capacity_grows_with_the_rows_between_its_bounds():
    assert capacity(10) == MIN_CAPACITY
    assert capacity(5_000) == 5_000 * PARAMS_PER_ROW > MIN_CAPACITY
    assert capacity(10**7) == MAX_PARAMS


def test_members_share_the_capacity_of_small_data():
    X = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    wide = {"neuron_pct": 0.5, "max_layers": 2, "embedding": "none", "max_epochs": 1}
    for members in (1, 8):
        model = PyramidNNModel(members=members, **wide).fit(X, y, X, y)
        assert members * count_params(6, model.widths_, 1) <= capacity(300)
    free = PyramidNNModel(members=8, capacity_rule=False, **wide).fit(X, y, X, y)
    assert free.widths_[0] == 2500  # without the rule only MAX_PARAMS bounds it


def test_default_params_lie_in_the_space():
    assert PyramidNNModel.search_space().contains(PyramidNNModel.default_params())


def test_default_trial_trains_eight_members_only_on_small_data():
    # Eight members cost ~8x a fold on large data, where the baseline must still converge.
    small = PyramidNNModel.default_params(MEMBERS_ROWS)
    large = PyramidNNModel.default_params(MEMBERS_ROWS + 1)
    assert (small["members"], large["members"]) == (8, 1)
    assert PyramidNNModel.search_space().contains(large)


def test_light_imports_do_not_load_tensorflow():
    code = (
        "import sys, automl_tab, automl_tab.cli, automl_tab.models, automl_tab.pipeline; "
        "sys.exit('tensorflow' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_batch_grows_with_the_data_only_when_epochs_get_long():
    from automl_tab.models.pyramid_nn import MAX_BATCH
    from automl_tab.models.pyramid_nn import MIN_BATCH
    from automl_tab.models.pyramid_nn import scaled_batch

    assert scaled_batch(32, 1_350) == MIN_BATCH == 128  # never below the floor
    assert scaled_batch(256, 1_350) == 256  # small data: a searched size above it stands
    assert scaled_batch(32, 41_767) == 256  # otto: at most 200 steps per epoch
    assert scaled_batch(512, 41_767) == 512  # never smaller than asked
    assert scaled_batch(32, 10**9) == MAX_BATCH
    assert all(41_767 / scaled_batch(b, 41_767) <= 200 for b in (32, 64, 128))


def test_sgd_trains_at_ten_times_the_searched_rate_and_leaves_chance():
    """The searched rate is Adam's: at the rate itself a deep SGD network stays near chance
    within its patience (as most SGD draws of the space did on titanic and jh-simple)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    draw = {
        "neuron_pct": 0.01, "neuron_shrink": 0.8, "max_layers": 6, "dropout": 0.2,
        "learning_rate": 5e-4, "optimizer": "sgd", "members": 1, "embedding": "none",
        "max_epochs": 60, "patience": 10,
    }  # fmt: skip
    best = {}
    for scale in (1.0, SGD_RATE_SCALE):
        model = PyramidNNModel(**draw, sgd_rate_scale=scale).fit(X[:400], y[:400], X[400:], y[400:])
        assert model.learning_rate_ == 5e-4 * scale
        best[scale] = min(model.history_["val_loss"])
    assert best[1.0] > 0.6  # log loss at chance is 0.693
    assert best[SGD_RATE_SCALE] < 0.45
