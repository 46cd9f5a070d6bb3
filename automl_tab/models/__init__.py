"""Model registry. Importing this package does not import TensorFlow, LightGBM or
scikit-learn's forests."""

from __future__ import annotations

from ..exceptions import ConfigError
from .extra_trees import ExtraTreesModel
from .lightgbm_model import LightGBMModel
from .pyramid_nn import PyramidNNModel

# The single list of model families, in the order their searches start: the quick
# baseline first.
MODEL_REGISTRY = {m.name: m for m in (LightGBMModel, PyramidNNModel, ExtraTreesModel)}


def get_model(name: str):
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"model {name!r} is unknown; use one of {sorted(MODEL_REGISTRY)} "
            "(--models, comma-separated)"
        ) from None


__all__ = ["MODEL_REGISTRY", "ExtraTreesModel", "LightGBMModel", "PyramidNNModel", "get_model"]
