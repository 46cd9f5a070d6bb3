"""The façade: competition folder in, trial store and validated submission out.

`AutoTab(config).fit(competition)` infers the schema, runs the searches of every model family
on one clock (every trial stored as it finishes), completes the best trials on all folds and
saves what `results.finalize` needs; `finalize` builds the ensemble from stored predictions and
writes the submission. `submit` is `finalize` on a finished workdir, so a regenerated
submission follows exactly the path of the original one.

Time budget (all wall clock, counted from the command's start):
1. A reserve for the ensemble, the submission and the report: 5 % of --time-limit,
   within 8-45 s.
2. A reserve for completing the best trials on the folds the search left out: 15 % of
   what remains after loading, or more when completing the best trial of each family is
   expected to take longer (none when the search folds already cover every row).
3. The rest is the search, shared by the families in proportion to FAMILY_SHARES; LightGBM's
   first trial (its defaults) runs first, so a strong candidate exists within seconds.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import __version__
from .competition import Competition
from .config import RunConfig
from .exceptions import ConfigError
from .exceptions import DataError
from .exceptions import TrialFailed
from .metrics import get_metric
from .preprocessing import build_preprocessor
from .preprocessing import encode_target
from .preprocessing import prepare_features
from .results import RUN_FILE
from .results import TARGET_FILE
from .results import TEMPLATE_FILE
from .results import candidates
from .results import load_trials
from .results import read_run
from .results import write_json
from .schema import DatasetSchema
from .schema import infer_schema
from .splits import full_coverage
from .splits import make_splits

COMPLETION_SHARE = 0.15
FAMILY_SHARES = {"lgbm": 1.0, "nn": 1.0}
FAMILY_ORDER = ("lgbm", "nn")  # the quick baseline first


def default_workdir(comp_name: str) -> Path:
    return Path("submissions") / comp_name


def training_data(comp: Competition, schema: DatasetSchema):
    """(X, y, X_test): features of the labelled training rows, the encoded target, and the
    test features, ready for the folds' preprocessors."""
    target = comp.train[schema.target]
    labelled = target.notna() & (target.astype("string").str.strip() != "")
    train = comp.train.loc[labelled].reset_index(drop=True)
    X = prepare_features(train, schema)
    y = encode_target(train[schema.target], schema)
    return X, y, prepare_features(comp.test, schema)


def build_objective(model_cls, schema: DatasetSchema, X, y, X_test, folds, **options):
    """The Objective of one model family on these folds, with the schema's task and metric."""
    from .search import Objective

    return Objective(
        model_cls,
        X=X,
        y=y,
        X_test=X_test,
        preprocessor=build_preprocessor(schema),
        splits=folds,
        metric=get_metric(schema.metric),
        task=schema.task,
        n_classes=len(schema.classes or ()),
        log_target=schema.log_target,
        **options,
    )


def reserve_seconds(time_limit: float) -> float:
    """Time kept back for the ensemble, the submission, the report and the exit (measured:
    about 5 s on a small competition, most of it importing matplotlib and drawing)."""
    return min(max(8.0, 0.05 * time_limit), 45.0)


class AutoTab:
    """Search façade. After `fit`: `schema_`, `workdir_`, `trials_` (TrialRecords)."""

    def __init__(
        self,
        config: RunConfig,
        *,
        storage: str | None = None,
        fresh: bool = False,
        on_trial=None,
        on_notice=None,
        on_stage=None,
    ):
        self.config = config
        self.storage = storage
        self.fresh = fresh
        self.on_trial = on_trial
        self.on_notice = on_notice
        self.on_stage = on_stage or (lambda text: None)

    def fit(self, comp: Competition, *, started: float | None = None) -> AutoTab:
        from .search.runner import run_stages

        cfg = self.config
        started = time.monotonic() if started is None else started
        deadline = started + cfg.time_limit - reserve_seconds(cfg.time_limit)
        schema = infer_schema(comp)
        workdir = Path(cfg.workdir or default_workdir(comp.name))
        _prepare_workdir(workdir)
        X, y, X_test = training_data(comp, schema)
        if not self.fresh:
            _check_resumable(workdir, cfg, y)
        self._save_run(workdir, comp, schema, y)
        folds = make_splits(
            y,
            stratify=schema.is_classification,
            n_splits=cfg.n_splits,
            test_size=cfg.test_size,
            random_state=cfg.seed,
            complete=True,
        )
        self.on_stage("preprocessing and loading models")
        stages = self._stages(schema, X, y, X_test, folds, workdir, comp.name)
        floor = COMPLETION_SHARE * max(0.0, deadline - time.monotonic())
        completes = full_coverage(cfg.n_splits, cfg.test_size) > cfg.n_splits

        def reserve() -> float:
            # Enough to complete the best trial of each family, however slow it is: otto's
            # best LightGBM trial needed more than the 15 % and was left out of completion.
            if not completes:
                return 0.0
            return max(floor, sum(_best_completion_seconds(s) for s in stages))

        run_stages(
            stages,
            metric=get_metric(schema.metric),
            n_trials=cfg.n_trials,
            deadline=deadline,
            on_trial=self.on_trial,
            on_notice=self.on_notice,
            on_stage=self.on_stage,
            reserve=reserve,
        )
        self.schema_ = schema
        self.workdir_ = workdir
        self.on_stage("completing the best trials on all folds")
        self._complete_best(stages, deadline)
        self.trials_ = load_trials(workdir, self.storage)
        return self

    def _stages(self, schema, X, y, X_test, folds, workdir, comp_name):
        from .models import get_model
        from .search import TrialStore
        from .search.optimizers import get_optimizer
        from .search.runner import Stage

        cfg = self.config
        cache: dict = {}  # preprocessed folds, shared by the families
        stages = []
        for name in sorted(cfg.models, key=FAMILY_ORDER.index):
            model_cls = get_model(name)
            store = TrialStore(workdir, name, self.storage, comp_name)
            if self.fresh:
                store.delete()
            # LightGBM is always tuned with TPE; --backend chooses the network's optimizer.
            backend = cfg.backend if name == "nn" else "optuna"
            optimizer = get_optimizer(
                backend,
                store.open_study(),
                model_cls.search_space(),
                seed=cfg.seed,
                init_points=cfg.init_points,
            )
            optimizer.enqueue(model_cls.default_params())
            options = (
                {"max_epochs": cfg.max_epochs, "patience": cfg.patience} if name == "nn" else {}
            )
            objective = build_objective(
                model_cls,
                schema,
                X,
                y,
                X_test,
                folds,
                n_splits=cfg.n_splits,
                model_options=options,
                seed=cfg.seed,
                cache=cache,
            )
            if name == "nn":  # import TensorFlow before the clock of the first trial starts
                from ._compat import import_keras

                import_keras()
            stages.append(Stage(name, objective, optimizer, store, FAMILY_SHARES[name]))
        return stages

    def _complete_best(self, stages, deadline: float) -> None:
        """Fit the best trials on the folds the search left out, best first, while each
        completion's expected time (its folds' mean time so far) fits before `deadline`."""
        by_name = {s.name: s for s in stages}
        records = load_trials(self.workdir_, self.storage)
        for record in candidates(records, self.config.top_k):
            stage = by_name.get(record.model)
            if stage is None or stage.store.has_predictions(record.number, full=True):
                continue
            if not stage.store.has_predictions(record.number):
                continue  # another worker's trial: its predictions are in its own workdir
            objective = stage.objective
            trial = stage.optimizer.study.trials[record.number]
            if time.monotonic() + completion_seconds(stage, trial) > deadline:
                continue
            oof, test = stage.store.load_predictions(record.number)
            try:
                full_oof, full_test, _, capped = objective.complete(
                    record.params, oof, test, number=record.number, deadline=deadline
                )
            except TrialFailed:
                continue
            if capped:  # folds cut short by the clock would drag the trial's OOF down
                continue
            stage.store.save_full(record.number, full_oof, full_test)

    def _save_run(self, workdir: Path, comp: Competition, schema: DatasetSchema, y) -> None:
        tag = f".{os.getpid()}.tmp"
        comp.sample_submission.to_csv(workdir / (TEMPLATE_FILE + tag), index=False)
        os.replace(workdir / (TEMPLATE_FILE + tag), workdir / TEMPLATE_FILE)
        np.save(workdir / (TARGET_FILE + tag + ".npy"), y)
        os.replace(workdir / (TARGET_FILE + tag + ".npy"), workdir / TARGET_FILE)
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
        write_json(workdir / RUN_FILE, run)


def completion_seconds(stage, trial) -> float:
    """Expected time to fit `trial` (an Optuna trial of the stage's study) on the folds the
    search left out: its mean fold time so far per round of folds fitted at once, with a 1.5x
    margin, since a completion cut short by the clock is thrown away."""
    objective = stage.objective
    rounds = objective.rounds(len(objective.splits) - objective.n_splits)
    fold_seconds = trial.user_attrs.get("split_seconds") or [0.0]
    return 1.5 * rounds * float(np.mean(fold_seconds))


def _best_completion_seconds(stage) -> float:
    done = [
        t for t in stage.optimizer.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"
    ]
    return completion_seconds(stage, min(done, key=lambda t: t.value)) if done else 0.0


# Settings that decide the folds: trials scored on other folds cannot join the same study.
FOLD_SETTINGS = {"seed": "--seed", "n_splits": "--n-splits", "test_size": "test_size"}


def _check_resumable(workdir: Path, cfg: RunConfig, y) -> None:
    """Refuse to resume a workdir whose earlier run drew other folds (another seed, fold count
    or training data): its out-of-fold predictions would not line up with the new trials'."""
    if not (workdir / RUN_FILE).is_file():
        return
    earlier = read_run(workdir).get("config", {})
    for key, flag in FOLD_SETTINGS.items():
        old, new = earlier.get(key), getattr(cfg, key)
        if old is not None and old != new:
            raise ConfigError(
                f"{flag} is {new}, but the trials in {workdir} were scored with {old}; "
                f"pass {flag} {old} to resume, or --fresh (or another --workdir) to start over"
            )
    target_file = workdir / TARGET_FILE
    if target_file.is_file():
        old_y = np.load(target_file, allow_pickle=False)
        if old_y.shape != np.shape(y) or not np.array_equal(old_y, y):
            raise DataError(
                f"the training data differs from the run whose trials are in {workdir} "
                f"({len(old_y)} rows then, {len(y)} now, or other targets); pass --fresh "
                "(or another --workdir) to start over"
            )


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
