"""Helpers the test modules share (fixtures live in conftest.py): the repository's paths,
generated competitions in Kaggle layout, objectives on them, the CLI and the search."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from automl_tab import load_competition
from automl_tab.cli import main
from automl_tab.models import PyramidNNModel
from automl_tab.pipeline import build_objective
from automl_tab.preprocessing import encode_target
from automl_tab.preprocessing import prepare_features
from automl_tab.schema import infer_schema
from automl_tab.splits import make_splits

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED = ROOT.parent / "shared"


def make_frame(n: int, task: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.lognormal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    level = rng.integers(1, 4, size=n)
    signal = 2 * x1 + (color == "red") - 0.5 * level
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "x1": x1.round(4),
            "x2": x2.round(4),
            "color": color,
            "level": level,
        }
    )
    frame.loc[rng.random(n) < 0.1, "x2"] = np.nan
    frame.loc[rng.random(n) < 0.05, "color"] = np.nan
    if task == "binary":
        frame["label"] = np.where(signal + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    elif task == "multiclass":
        frame["label"] = np.select([signal < -0.7, signal < 0.7], ["a", "b"], "c")
    else:
        frame["label"] = (10 * np.exp(0.3 * signal + rng.normal(scale=0.1, size=n))).round(3)
    return frame


def write_competition(
    root: Path,
    task: str = "binary",
    n: int = 160,
    n_test: int = 60,
    seed: int = 0,
    meta: dict | None = None,
    proba: bool = False,
) -> Path:
    """A folder with train.csv, test.csv, sample_submission.csv (and competition.json)."""
    root.mkdir(parents=True, exist_ok=True)
    frame = make_frame(n + n_test, task, seed)
    train, test = frame.iloc[:n], frame.iloc[n:].drop(columns="label")
    train.to_csv(root / "train.csv", index=False)
    test.to_csv(root / "test.csv", index=False)
    if task == "multiclass":
        sample = pd.DataFrame({"id": test["id"], "a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    elif task == "binary" and proba:
        sample = pd.DataFrame({"id": test["id"], "label": 0.5})
    elif task == "binary":
        sample = pd.DataFrame({"id": test["id"], "label": "no"})
    else:
        sample = pd.DataFrame({"id": test["id"], "label": 10.0})
    sample.to_csv(root / "sample_submission.csv", index=False)
    frame.iloc[n:][["id", "label"]].to_csv(root / "solution.csv", index=False)  # the answer key
    if meta is not None:
        (root / "competition.json").write_text(json.dumps(meta))
    return root


def invoke(*args):
    """The CLI in this process: (result, its exit code and output as one text)."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result, f"exit {result.exit_code}\n{result.output}"


def objective_for(path, model_cls=PyramidNNModel, n_splits=2, **options):
    """(objective, y, splits) for the competition at `path`: short training, seeded folds."""
    comp = load_competition(path)
    schema = infer_schema(comp)
    X, y = prepare_features(comp.train, schema), encode_target(comp.train["label"], schema)
    splits = make_splits(
        y, stratify=schema.is_classification, n_splits=n_splits, test_size=0.25, random_state=0
    )
    return (
        build_objective(
            model_cls,
            schema,
            X,
            y,
            prepare_features(comp.test, schema),
            splits,
            model_options={"max_epochs": 60, "patience": 5, **options},
        ),
        y,
        splits,
    )


def run_search(objective, optimizer, store, *, metric, n_trials, budget):
    """One family's search through the runner, as the pipeline runs its stages."""
    from automl_tab.search.runner import Stage
    from automl_tab.search.runner import run_stages

    stage = Stage(store.model, objective, optimizer, store)
    budget.open_search({stage.name: 1.0}, completes=False)
    return run_stages([stage], budget, metric=metric, n_trials=n_trials)
