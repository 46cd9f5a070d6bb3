"""The frozen run configuration: valid defaults, one error per bad value that names the
argument, the rule and the fix, and choices read from the registries."""

import dataclasses

import pytest

from automl_tab.config import BACKENDS
from automl_tab.config import MODELS
from automl_tab.config import RunConfig
from automl_tab.exceptions import ConfigError
from automl_tab.models import MODEL_REGISTRY
from automl_tab.search.optimizers import BACKENDS as BACKEND_REGISTRY


def test_defaults_are_valid_and_frozen():
    config = RunConfig()
    assert config.models == MODELS and config.backend in BACKENDS
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1


def test_the_choices_are_the_registries():
    assert tuple(MODEL_REGISTRY) == MODELS and tuple(BACKEND_REGISTRY) == BACKENDS


@pytest.mark.parametrize(
    "field, value, fix",
    [
        ("time_limit", 0, "--time-limit 300"),
        ("n_trials", 0, "--n-trials"),
        ("backend", "hyperopt", "optuna"),
        ("init_points", 0, "--init-points 5"),
        ("patience", 0, "10"),
        ("memory_limit", 0, "--memory-limit 8"),
        ("models", ("nn", "xgb"), "--models nn,lgbm"),
        ("models", (), "--models nn,lgbm"),
    ],
)
def test_a_bad_value_is_one_error_naming_argument_value_and_fix(field, value, fix):
    with pytest.raises(ConfigError) as error:
        RunConfig(**{field: value})
    message = str(error.value)
    assert message.startswith(f"{field}={value!r} is invalid: ") and fix in message
