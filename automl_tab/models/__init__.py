"""Model registry. Importing this package does not import TensorFlow or LightGBM."""

from __future__ import annotations

from .pyramid_nn import PyramidNNModel

MODEL_REGISTRY = {PyramidNNModel.name: PyramidNNModel}


def get_model(name: str):
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"model {name!r} is unknown; use one of {sorted(MODEL_REGISTRY)}"
        ) from None


__all__ = ["MODEL_REGISTRY", "PyramidNNModel", "get_model"]
