"""The façade: competition folder in, trial store and validated submission out.

`AutoTab(config).fit(competition)` infers the schema, runs the search (every trial stored as
it finishes) and saves what `finalize` needs; `finalize(workdir, ...)` builds the ensemble from
stored predictions and writes the submission. `submit` is `finalize` on a finished workdir,
so a regenerated submission follows exactly the path of the original one.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .competition import Competition
from .config import RunConfig
from .ensemble import blend
from .ensemble import greedy_weights
from .ensemble import oof_score
from .ensemble import top_trials
from .exceptions import AutomlTabError
from .exceptions import DataError
from .metrics import get_metric
from .preprocessing import build_preprocessor
from .preprocessing import encode_target
from .preprocessing import prepare_features
from .schema import DatasetSchema
from .schema import infer_schema
from .search.trial import TrialRecord
from .splits import make_splits
from .submission import submission_frame
from .submission import write_submission

RUN_FILE = "run.json"
TEMPLATE_FILE = "sample_submission.csv"
TARGET_FILE = "target.npy"


def default_workdir(comp_name: str) -> Path:
    return Path("submissions") / comp_name


def reserve_seconds(time_limit: float) -> float:
    """Time kept back from the search for the ensemble, the writing and the exit."""
    return min(max(3.0, 0.03 * time_limit), 30.0)


class AutoTab:
    """Search façade. After `fit`: `schema_`, `workdir_`, `trials_` (TrialRecords)."""

    def __init__(
        self, config: RunConfig, *, storage: str | None = None, fresh: bool = False, on_trial=None
    ):
        self.config = config
        self.storage = storage
        self.fresh = fresh
        self.on_trial = on_trial

    def fit(self, comp: Competition, *, started: float | None = None) -> AutoTab:
        from .models import get_model
        from .search import Objective
        from .search import TrialStore
        from .search import run_search
        from .search.optimizers import get_optimizer

        cfg = self.config
        started = time.monotonic() if started is None else started
        deadline = started + cfg.time_limit - reserve_seconds(cfg.time_limit)
        schema = infer_schema(comp)
        workdir = Path(cfg.workdir or default_workdir(comp.name))
        _prepare_workdir(workdir)
        labelled = comp.train[schema.target].notna() & (
            comp.train[schema.target].astype("string").str.strip() != ""
        )
        train = comp.train.loc[labelled].reset_index(drop=True)
        X = prepare_features(train, schema)
        y = encode_target(train[schema.target], schema)
        X_test = prepare_features(comp.test, schema)
        self._save_run(workdir, comp, schema, y)
        splits = make_splits(
            y,
            stratify=schema.is_classification,
            n_splits=cfg.n_splits,
            test_size=cfg.test_size,
            random_state=cfg.seed,
        )
        metric = get_metric(schema.metric)
        for name in cfg.models:
            model_cls = get_model(name)
            store = TrialStore(workdir, name, self.storage)
            if self.fresh:
                store.delete()
            study = store.open_study()
            optimizer = get_optimizer(
                cfg.backend,
                study,
                model_cls.search_space(),
                seed=cfg.seed,
                init_points=cfg.init_points,
            )
            optimizer.enqueue(model_cls.default_params())
            objective = Objective(
                model_cls,
                X=X,
                y=y,
                X_test=X_test,
                preprocessor=build_preprocessor(schema),
                splits=splits,
                metric=metric,
                task=schema.task,
                n_classes=len(schema.classes or ()),
                log_target=schema.log_target,
                model_options={"max_epochs": cfg.max_epochs, "patience": cfg.patience},
                seed=cfg.seed,
            )
            if name == "nn":  # import TensorFlow before the clock of the first trial starts
                from ._compat import import_keras

                import_keras()
            run_search(
                objective,
                optimizer,
                store,
                metric=metric,
                n_trials=cfg.n_trials,
                deadline=deadline,
                on_trial=self.on_trial,
            )
        self.schema_ = schema
        self.workdir_ = workdir
        self.trials_ = load_trials(workdir, self.storage)
        return self

    def _save_run(self, workdir: Path, comp: Competition, schema: DatasetSchema, y) -> None:
        comp.sample_submission.to_csv(workdir / TEMPLATE_FILE, index=False)
        np.save(workdir / TARGET_FILE, y)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.config).items()}
        run = {
            "automl_tab_version": __version__,
            "competition": comp.name,
            "competition_path": str(comp.path),
            "config": config,
            "models": list(self.config.models),
            "schema": schema.to_dict(),
            "test_ids": comp.test[schema.id_column].tolist(),
        }
        _write_json(workdir / RUN_FILE, run)


def _prepare_workdir(workdir: Path) -> None:
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataError(
            f"workdir {workdir} cannot be written ({exc.strerror}); pass a writable --workdir"
        ) from None


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    tmp.replace(path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read_run(workdir: Path) -> dict:
    path = Path(workdir) / RUN_FILE
    if not path.is_file():
        raise DataError(
            f"{workdir} holds no finished run ({RUN_FILE} missing); run "
            "`automl-tab run COMP` or `automl-tab tune-nn COMP` first"
        )
    return json.loads(path.read_text())


def load_trials(workdir: Path, storage: str | None = None) -> list[TrialRecord]:
    from .search import TrialStore

    run = read_run(workdir)
    records: list[TrialRecord] = []
    for name in run["models"]:
        records += TrialStore(workdir, name, storage).records()
    return records


def leaderboard(records: list[TrialRecord]) -> list[TrialRecord]:
    """Completed trials best first, then the rest by number."""
    done = top_trials(records, len(records))
    rest = sorted((r for r in records if r not in done), key=lambda r: r.number)
    return done + rest


@dataclass(frozen=True)
class FinalResult:
    submission: Path
    members: list[tuple[TrialRecord, float]]  # (trial, blend weight)
    cv_score: float
    cv_rows: int
    metric: str


def finalize(
    workdir: Path, *, top_k: int, output: Path | None = None, storage: str | None = None
) -> FinalResult:
    """Blend the test predictions of the `top_k` best trials and write the submission.

    The blend weights come from greedy (Caruana) selection on the trials' out-of-sample
    predictions, so a weak trial among the top k gets weight 0 instead of diluting the best.
    Each trial's test prediction is the mean of its split models (trained on 1 - test_size of
    the rows and stopped at their own best epoch), so no refit is needed: the ensemble costs
    seconds, fits any time budget and can be rebuilt by `submit`.
    """
    from .search import TrialStore

    workdir = Path(workdir)
    run = read_run(workdir)
    schema = DatasetSchema.from_dict(run["schema"])
    records = load_trials(workdir, storage)
    stores = {name: TrialStore(workdir, name, storage) for name in run["models"]}
    candidates = [
        r for r in top_trials(records, len(records)) if stores[r.model].has_predictions(r.number)
    ][:top_k]
    if not candidates:
        raise AutomlTabError(
            f"no completed trial in {workdir}; give the run more --time-limit or --n-trials"
        )
    preds = [stores[r.model].load_predictions(r.number) for r in candidates]
    metric = get_metric(schema.metric)
    y = np.load(workdir / TARGET_FILE)
    oofs, tests = [oof for oof, _ in preds], [test for _, test in preds]
    weights = greedy_weights(metric, y, oofs)
    cv, n_rows = oof_score(metric, y, blend(oofs, weights))
    test_pred = blend(tests, weights)
    members = [(r, float(w)) for r, w in zip(candidates, weights) if w > 0]
    template = pd.read_csv(workdir / TEMPLATE_FILE, dtype=str)
    frame = submission_frame(template, pd.Series(run["test_ids"]), test_pred, schema)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(output) if output else workdir / f"submission-{stamp}.csv"
    write_submission(frame, path, template, schema)
    write_leaderboard(workdir, records, members, cv, metric.name)
    return FinalResult(path, members, cv, n_rows, metric.name)


def write_leaderboard(workdir: Path, records, members, cv: float | None, metric: str) -> None:
    ordered = leaderboard(records)
    weight = {(m.model, m.number): w for m, w in members}
    rows = []
    for rank, r in enumerate(ordered, 1):
        row = {"rank": rank, **r.to_dict(), "weight": weight.get((r.model, r.number), 0.0)}
        rows.append(row)
    _write_json(workdir / "leaderboard.json", {"metric": metric, "ensemble_cv": cv, "trials": rows})
    flat = pd.DataFrame(
        [
            {
                **{k: v for k, v in row.items() if k != "params"},
                "params": json.dumps(row["params"], default=_json_default),
            }
            for row in rows
        ]
    )
    flat.to_csv(workdir / "leaderboard.csv", index=False)
