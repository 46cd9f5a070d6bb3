"""Helpers the test modules share (fixtures live in conftest.py)."""

from automl_tab import load_competition
from automl_tab.models import PyramidNNModel
from automl_tab.pipeline import build_objective
from automl_tab.preprocessing import encode_target
from automl_tab.preprocessing import prepare_features
from automl_tab.schema import infer_schema
from automl_tab.splits import make_splits


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
