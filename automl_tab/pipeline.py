"""The façade: competition folder in, trial store and validated submission out.

`AutoTab(config).fit(competition)` infers the schema, measures what one fit of each model
family costs and decides the run plan (plan.py: how trials are validated, how the time is
shared), runs the searches of every family on one clock (budget.py; every trial stored as it
finishes), completes the best trials on all folds and saves what `results.finalize` needs;
`finalize` builds the ensemble from stored predictions and writes the submission. `submit` is
`finalize` on a finished workdir, so a regenerated submission follows exactly the path of the
original one.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import fields
from dataclasses import replace
from pathlib import Path

from . import __version__
from .budget import TRIAL_SHARE
from .budget import Budget
from .competition import Competition
from .config import RunConfig
from .memory import within_memory
from .metrics import get_metric
from .plan import REPEATS
from .plan import RunPlan
from .plan import decide_plan
from .plan import resumed_plan
from .preprocessing import build_preprocessor
from .preprocessing import encode_target
from .preprocessing import prepare_features
from .results import finalize
from .results import leaderboard
from .results import write_leaderboard
from .schema import DatasetSchema
from .schema import infer_schema
from .schema import labelled_rows
from .splits import full_coverage
from .splits import make_splits
from .splits import n_folds
from .workdir import RUN_FILE
from .workdir import TARGET_FILE
from .workdir import TEMPLATE_FILE
from .workdir import check_resumable
from .workdir import earlier_rows
from .workdir import load_trials
from .workdir import prepare_workdir
from .workdir import read_run
from .workdir import save_array_atomic
from .workdir import write_atomic
from .workdir import write_json


def default_workdir(comp_name: str) -> Path:
    return Path("submissions") / comp_name


def training_data(comp: Competition, schema: DatasetSchema):
    """(X, y, X_test): features of the labelled training rows, the encoded target, and the
    test features, ready for the folds' preprocessors."""
    labelled = labelled_rows(comp.train[schema.target], schema.task)
    train = comp.train.loc[labelled].reset_index(drop=True)
    X = prepare_features(train, schema)
    y = encode_target(train[schema.target], schema)
    return X, y, prepare_features(comp.test, schema)


def build_objective(
    model_cls,
    schema: DatasetSchema,
    X,
    y,
    X_test,
    folds,
    *,
    preprocessing=None,
    cache: dict | None = None,
    **options,
):
    """The Objective of one model family on these folds, with the schema's task and metric
    (`preprocessing`: options of build_preprocessor; `cache`: preprocessed folds shared with
    other families on the same folds; `options`: Objective's keywords)."""
    from .search.fold_fit import TaskFacts
    from .search.objective import Objective
    from .search.objective import TrainingData

    preprocessor = build_preprocessor(schema, **(preprocessing or {}))
    data = TrainingData(X, y, X_test, preprocessor, folds, {} if cache is None else cache)
    facts = TaskFacts(schema.task, len(schema.classes or ()), schema.log_target)
    return Objective(model_cls, data, facts, get_metric(schema.metric), **options)


class AutoTab:
    """A whole run: `fit` searches, `finalize` ensembles the best trials and writes the
    submission, the leaderboard and the report. `from_workdir` opens a finished (or stopped)
    run without training, for `submit`, `report` and `leaderboard`. After either: `schema_`,
    `workdir_`, `plan_` (RunPlan; None for a run older than the plan), `trials_`
    (TrialRecords)."""

    def __init__(
        self,
        config: RunConfig,
        *,
        storage: str | None = None,
        fresh: bool = False,
        on_trial=None,
        on_notice=None,
        on_stage=None,
        on_plan=None,
    ):
        self.config = config
        self.storage = storage
        self.fresh = fresh
        self.on_trial = on_trial
        self.on_notice = on_notice
        self.on_stage = on_stage or (lambda text: None)
        self.on_plan = on_plan or (lambda text: None)

    def fit(self, comp: Competition, *, started: float | None = None) -> AutoTab:
        from .search.runner import complete_best
        from .search.runner import completion_order
        from .search.runner import run_stages
        from .search.runner import search_on

        cfg = self.config
        budget = Budget(cfg.time_limit, started)
        warming = _warm_up_workers(cfg)  # while the data is read and prepared
        schema = infer_schema(comp)
        for notice in schema.notices if self.on_notice is not None else ():
            self.on_notice(notice)  # what was dropped or read as missing, said before the run
        workdir = Path(cfg.workdir or default_workdir(comp.name))
        prepare_workdir(workdir)
        X, y, X_test = self._training_rows(comp, schema, workdir, warming)
        # Enough folds for any plan (plan.py): the run plan then takes a prefix of them.
        folds = self._folds(y, schema, max(REPEATS * n_folds(cfg.test_size), cfg.n_splits or 0))
        self.on_stage("preprocessing and loading models")
        stages = self._stages(schema, X, y, X_test, folds, workdir, comp.name)
        plan = self._plan(stages, budget, workdir, len(y))
        if plan.total_folds > len(folds):  # an earlier run's plan asked for more
            folds = self._folds(y, schema, plan.total_folds)
        for stage in stages:
            k = plan.folds[stage.name]
            stage.objective.use_folds(k, plan.coverage(stage.name), folds)
            stage.objective.model_options.update(plan.limits.get(stage.name, {}))
        budget.open_search(plan.shares, completes=plan.completes)
        self.on_plan(plan.line(budget.completion_reserve(), budget.finish_reserve))
        self._save_run(workdir, comp, schema, y, plan)
        search = {
            "metric": get_metric(schema.metric),
            "n_trials": cfg.n_trials,
            "on_trial": self.on_trial,
            "on_notice": self.on_notice,
            "on_stage": self.on_stage,
        }
        run_stages(stages, budget, **search)
        self.schema_, self.workdir_, self.plan_ = schema, workdir, plan
        self.on_stage("completing the best trials on all folds")
        records = load_trials(workdir, self.storage)
        complete_best(stages, budget, completion_order(records, cfg.top_k, budget))
        search_on(stages, budget, **search)  # with what completion left
        self.trials_ = load_trials(workdir, self.storage)
        return self

    @classmethod
    def from_workdir(cls, workdir, *, storage: str | None = None) -> AutoTab:
        """The run in `workdir` with its config, schema, plan and trials (no training)."""
        workdir = Path(workdir)
        run = read_run(workdir)
        known = {f.name for f in fields(RunConfig)}
        stored = {k: v for k, v in run.get("config", {}).items() if k in known}
        stored.update(workdir=workdir, output=None, models=tuple(run["models"]))
        automl = cls(RunConfig(**stored), storage=storage)
        automl.schema_ = DatasetSchema.from_dict(run["schema"])
        automl.workdir_ = workdir
        automl.plan_ = RunPlan.from_dict(run["plan"]) if "plan" in run else None
        automl.trials_ = load_trials(workdir, storage)
        return automl

    def finalize(self, *, top_k: int | None = None, output=None, report: bool = True):
        """Ensemble the best `top_k` trials of each family (default: the config's), write the
        submission (checked against the template) and the leaderboard, then the report;
        returns the FinalResult."""
        result = finalize(
            self.workdir_,
            top_k=top_k or self.config.top_k,
            output=output or self.config.output,
            storage=self.storage,
        )
        if report:
            self.on_stage("report")
            self.write_report()
        return result

    def write_leaderboard(self) -> None:
        """The leaderboard files without an ensemble (a network-only search, say)."""
        write_leaderboard(self.workdir_, self.trials_, [], None, self.schema_.metric)

    def write_report(self):
        """report.html and report.md; returns (html path, md path, plots)."""
        from .report import write_report

        return write_report(self.workdir_, self.storage)

    def leaderboard(self) -> list:
        """All trials, the completed best first, then the rest by number."""
        return leaderboard(self.trials_)

    def _training_rows(self, comp, schema, workdir: Path, warming=()):
        """(X, y, X_test): the labelled rows, or the memory guard's seeded sample of them (the
        earlier run's sample when resuming), checked against the run being resumed."""
        X, y, X_test = training_data(comp, schema)
        for thread in warming:  # the guard counts the fold workers' memory: let them start
            thread.join()
        earlier = None if self.fresh else earlier_rows(workdir)
        limit, seed = self.config.memory_limit * 2**30, self.config.seed
        X, y, self.max_categories_ = within_memory(
            X, y, X_test, schema, seed=seed, on_notice=self.on_notice, limit_bytes=limit,
            earlier=earlier,
        )  # fmt: skip
        if not self.fresh:
            check_resumable(workdir, self.config, y)
        return X, y, X_test

    def _folds(self, y, schema, n_splits: int):
        return make_splits(
            y,
            stratify=schema.is_classification,
            n_splits=n_splits,
            test_size=self.config.test_size,
            random_state=self.config.seed,
            complete=True,
        )

    def _stages(self, schema, X, y, X_test, folds, workdir, comp_name):
        from .models import MODEL_REGISTRY
        from .models import get_model
        from .search import TrialStore
        from .search.optimizers import get_optimizer
        from .search.runner import Stage

        cfg = self.config
        cache: dict = {}  # preprocessed folds, shared by the families
        stages = []
        for name in sorted(cfg.models, key=list(MODEL_REGISTRY).index):
            model_cls = get_model(name)
            store = TrialStore(workdir, name, self.storage, comp_name)
            if self.fresh:
                store.delete()
            optimizer = get_optimizer(
                model_cls.optimizer_backend or cfg.backend,
                store.open_study(),
                model_cls.search_space(),
                seed=cfg.seed,
                init_points=cfg.init_points,
                heartbeat=store.heartbeat,
            )
            optimizer.enqueue(*model_cls.starting_points(len(y)))
            options = model_cls.fixed_options(cfg)
            objective = build_objective(
                model_cls,
                schema,
                X,
                y,
                X_test,
                folds,
                model_options=options,
                seed=cfg.seed,
                cache=cache,
                preprocessing={"max_categories": self.max_categories_},
            )
            stages.append(Stage(name, objective, optimizer, store))
        return stages

    def _plan(self, stages, budget: Budget, workdir: Path, rows: int) -> RunPlan:
        """The plan of an earlier run on this workdir or study (its folds must be kept), else
        one decided now from probe fits of each family's default (kept for its first trial);
        each family then follows the plan its study already holds, if another worker's."""
        cfg = self.config
        stored = None if self.fresh else _stored_plan(workdir, stages)
        if stored is not None:
            plan = resumed_plan(stored, [s.name for s in stages], cfg)
            for stage in stages:
                stage.objective.prepare()
        else:
            costs = {}
            for stage in stages:
                self.on_stage(f"measuring one {stage.name} fit")
                stage.objective.prepare()
                default = stage.objective.model_cls.default_params(rows)
                costs[stage.name] = stage.objective.probe(default, deadline=budget.probe_deadline())
            plan = decide_plan(
                rows,
                costs,
                budget.search_estimate(),
                per_repeat=n_folds(cfg.test_size),
                n_splits=cfg.n_splits,
                n_trials=cfg.n_trials,
                seed=cfg.seed,
                trial_share=TRIAL_SHARE,
                base_shares={s.name: s.base_share for s in stages},
            )
        folds, limits = dict(plan.folds), dict(plan.limits)
        for stage in stages:  # several workers on one study follow the first one's plan
            shared = stage.store.shared_plan(stage.optimizer.study, plan.to_dict())
            if shared is not None and shared != plan.to_dict():
                first = resumed_plan(shared, [s.name for s in stages], cfg)
                folds[stage.name] = first.folds[stage.name]
                limits[stage.name] = first.limits.get(stage.name, {})
        total = max(plan.total_folds, *(full_coverage(k, cfg.test_size) for k in folds.values()))
        return replace(plan, folds=folds, total_folds=total, limits=limits)

    def _save_run(self, workdir: Path, comp, schema: DatasetSchema, y, plan: RunPlan) -> None:
        template = comp.sample_submission
        write_atomic(workdir / TEMPLATE_FILE, lambda tmp: template.to_csv(tmp, index=False))
        save_array_atomic(workdir / TARGET_FILE, y)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.config).items()}
        run = {
            "automl_tab_version": __version__,
            "competition": comp.name,
            "competition_path": str(comp.path),
            "config": config,
            "models": list(self.config.models),
            "max_categories": self.max_categories_,  # the memory guard's one-hot cap
            "plan": plan.to_dict(),
            "schema": schema.to_dict(),
            "test_ids": comp.test[schema.id_column].tolist(),
        }
        write_json(workdir / RUN_FILE, run)


def _warm_up_workers(cfg: RunConfig) -> list:
    """Start the fold workers of the families that train folds in them, in the background
    (as many as the objectives will ask for: a pool resized later restarts its workers)."""
    from .models import get_model
    from .search.fold_pool import fold_workers
    from .search.fold_pool import warm_up_in_background

    workers = fold_workers(max(REPEATS * n_folds(cfg.test_size), cfg.n_splits or 0))
    threads = []
    for name in cfg.models:
        model_cls = get_model(name)
        if getattr(model_cls, "parallel_folds", False) and workers > 1:
            setup = getattr(model_cls, "import_backend", None)
            threads.append(warm_up_in_background(workers, setup))
    return threads


def _stored_plan(workdir: Path, stages) -> dict | None:
    """The plan an earlier run on this workdir followed, else the one stored with the study
    by another worker; for trials of a version before the plan, every family on the folds
    they were scored on (--n-splits, 3 by default then)."""
    run = read_run(workdir) if (workdir / RUN_FILE).is_file() else {}
    if "plan" in run:
        return run["plan"]
    for stage in stages:
        stored = stage.store.shared_plan(stage.optimizer.study)
        if stored is not None:
            return stored
    finished = any(r.state.finished for s in stages for r in s.store.records(s.optimizer.study))
    if not (run or finished):
        return None
    config = run.get("config", {})
    n_splits, test_size = config.get("n_splits") or 3, config.get("test_size", 0.2)
    return {
        "folds": {s.name: n_splits for s in stages},
        "per_repeat": n_folds(test_size),
        "total_folds": full_coverage(n_splits, test_size),
        "shares": {s.name: 1.0 for s in stages},
    }
