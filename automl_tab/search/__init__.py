"""Search: what to try (optimizers), how to score it (objective), where it is kept (store).

The names below load on first use: `automl_tab.search.optimizers` (whose backend names the
config checks) must not pull scikit-learn and Optuna into `automl-tab --help`."""

from importlib import import_module

_EXPORTS = {
    "Objective": ".objective",
    "TrialStore": ".store",
    "TrialRecord": ".trial",
    "TrialResult": ".trial",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)


__all__ = sorted(_EXPORTS)
