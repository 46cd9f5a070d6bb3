"""automl-tab: Kaggle-oriented tabular AutoML.

Only light modules are imported here, so `import automl_tab` and `automl-tab --help` never
load TensorFlow.
"""

__version__ = "0.1.0"

from .competition import load_competition  # noqa: E402
from .config import RunConfig  # noqa: E402


def __getattr__(name):
    if name == "AutoTab":
        from .pipeline import AutoTab

        return AutoTab
    raise AttributeError(name)


__all__ = ["AutoTab", "RunConfig", "__version__", "load_competition"]
