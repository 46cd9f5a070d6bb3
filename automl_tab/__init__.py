"""automl-tab: Kaggle-oriented tabular AutoML.

Only light modules are imported here, so `import automl_tab` and `automl-tab --help` load
neither TensorFlow nor pandas; `AutoTab` and `load_competition` are imported on first use.
"""

__version__ = "0.1.0"

from .config import RunConfig  # noqa: E402


def __getattr__(name):
    if name == "AutoTab":
        from .pipeline import AutoTab

        return AutoTab
    if name == "load_competition":
        from .competition import load_competition

        return load_competition
    raise AttributeError(name)


__all__ = ["AutoTab", "RunConfig", "__version__", "load_competition"]
